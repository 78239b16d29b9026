import { CrossIcon } from "../doctor/icons";
import { InfoIcon } from "../common/icons";

/** The shell's one-time notices (settings repaired, database moved aside), each dismissible. */
export function NoticeBanner({
  notices,
  onDismiss,
}: {
  notices: string[];
  onDismiss: (notice: string) => void;
}) {
  if (notices.length === 0) {
    return null;
  }
  return (
    <ul className="notices" aria-label="Notices">
      {notices.map((notice) => (
        <li
          key={notice}
          className="callout callout-info notice"
          role="status"
          data-testid="notice"
        >
          <InfoIcon className="banner-icon notice-icon" />
          <span className="selectable">{notice}</span>
          <button
            type="button"
            className="icon-button"
            aria-label="Dismiss notice"
            onClick={() => {
              onDismiss(notice);
            }}
          >
            <CrossIcon />
          </button>
        </li>
      ))}
    </ul>
  );
}
