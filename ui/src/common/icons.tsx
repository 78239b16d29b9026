// The app's icons beyond the doctor's, drawn the same way (doctor/icons.tsx): inline SVG,
// decorative, the text or aria-label next to them carries the meaning.
import { Icon } from "../doctor/icons";

type Props = { className?: string };

export function PlusIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <path d="M12 5v14M5 12h14" />
    </Icon>
  );
}

export function ChatIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <path d="M4 5.5h16v10H9l-5 4z" />
    </Icon>
  );
}

export function FolderIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <path d="M3 6.5h6l2 2h10v10H3z" />
    </Icon>
  );
}

export function SettingsIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <circle cx="12" cy="12" r="3" />
      <path d="M12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3M5.3 5.3l2.1 2.1M16.6 16.6l2.1 2.1M5.3 18.7l2.1-2.1M16.6 7.4l2.1-2.1" />
    </Icon>
  );
}

export function PulseIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <path d="M3 12h4l2.5-6 5 12 2.5-6h4" />
    </Icon>
  );
}

export function PencilIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <path d="M4 20l1-4.5L15.5 5l3.5 3.5L8.5 19z" />
    </Icon>
  );
}

export function TrashIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <path d="M4.5 7h15M9.5 7V4.5h5V7M6.5 7l1 12.5h9l1-12.5" />
    </Icon>
  );
}

export function CopyIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <rect x="8.5" y="8.5" width="11" height="11" rx="2" />
      <path d="M15.5 8.5v-3a1 1 0 0 0-1-1h-9a1 1 0 0 0-1 1v9a1 1 0 0 0 1 1h3" />
    </Icon>
  );
}

export function StopIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <rect x="6.5" y="6.5" width="11" height="11" rx="1.5" />
    </Icon>
  );
}

export function SendIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <path d="M4 12l16-7.5-6 16-2.5-6.5z" />
    </Icon>
  );
}

export function SearchIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <circle cx="10.5" cy="10.5" r="6" />
      <path d="M15 15l5 5" />
    </Icon>
  );
}

export function DocumentIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <path d="M6 3.5h8l4 4v13H6z" />
      <path d="M14 3.5v4h4M9 12h6M9 15.5h6" />
    </Icon>
  );
}

export function InfoIcon({ className }: Props) {
  return (
    <Icon className={className}>
      <circle cx="12" cy="12" r="8.5" />
      <path d="M12 11v5M12 8v.01" />
    </Icon>
  );
}
