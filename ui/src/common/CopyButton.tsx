import { useEffect, useState } from "react";

import { CheckIcon } from "../doctor/icons";
import { copyText } from "./clipboard";
import { CopyIcon } from "./icons";

/** Copies `text`, then says "Copied" for a moment (or "Copy failed" when refused). */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [result, setResult] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (result === "idle") {
      return undefined;
    }
    const timer = window.setTimeout(() => {
      setResult("idle");
    }, 1600);
    return () => {
      window.clearTimeout(timer);
    };
  }, [result]);
  return (
    <button
      type="button"
      className="ghost-button"
      onClick={() => {
        void copyText(text).then((ok) => {
          setResult(ok ? "copied" : "failed");
        });
      }}
    >
      {result === "copied" ? <CheckIcon /> : <CopyIcon />}
      {result === "copied" ? "Copied" : result === "failed" ? "Copy failed" : label}
    </button>
  );
}
