import { useCallback, useRef, useState } from "react";

export interface Notices {
  /** Notices not yet dismissed, oldest first. */
  visible: string[];
  /** Adds notices from the shell; one already shown in this session is not shown again. */
  add: (notices: string[]) => void;
  dismiss: (notice: string) => void;
}

/**
 * The shell's one-time notices (settings file repaired, database moved aside). `app_status` may
 * repeat them on every call, so each text is shown once per session however often it arrives.
 */
export function useNotices(): Notices {
  const seen = useRef(new Set<string>());
  const [visible, setVisible] = useState<string[]>([]);
  const add = useCallback((notices: string[]) => {
    const fresh = notices.filter((notice) => !seen.current.has(notice));
    if (fresh.length === 0) {
      return;
    }
    fresh.forEach((notice) => seen.current.add(notice));
    setVisible((previous) => [...previous, ...fresh]);
  }, []);
  const dismiss = useCallback((notice: string) => {
    setVisible((previous) => previous.filter((item) => item !== notice));
  }, []);
  return { visible, add, dismiss };
}
