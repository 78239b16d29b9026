import { useEffect, useId, useRef, useState } from "react";

import { AlertIcon } from "../doctor/icons";
import { describeSlot } from "./describe";
import { ProviderDetails } from "./ProviderDetails";
import type { ProviderState } from "./providerState";

/**
 * Where the chat model runs, always in the header: NPU / GPU / CPU, the EP and the share of graph
 * nodes on it. Hovering shows the details; clicking pins them open (keyboard users press Enter or
 * Space), Esc or a click elsewhere closes them.
 */
export function ProviderBadge({ status }: { status: ProviderState }) {
  const text = describeSlot(status.chat, status.known);
  const [pinned, setPinned] = useState(false);
  const [hovered, setHovered] = useState(false);
  const open = pinned || hovered;
  const detailsId = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!pinned) {
      return undefined;
    }
    const closeOutside = (event: MouseEvent) => {
      if (root.current !== null && !root.current.contains(event.target as Node)) {
        setPinned(false);
      }
    };
    document.addEventListener("mousedown", closeOutside);
    return () => {
      document.removeEventListener("mousedown", closeOutside);
    };
  }, [pinned]);

  return (
    <div
      ref={root}
      className="badge-anchor"
      onMouseEnter={() => {
        setHovered(true);
      }}
      onMouseLeave={() => {
        setHovered(false);
      }}
      onKeyDown={(event) => {
        if (event.key === "Escape" && open) {
          event.stopPropagation();
          setPinned(false);
          setHovered(false);
          button.current?.focus();
        }
      }}
    >
      <button
        ref={button}
        type="button"
        className={`provider-badge provider-badge-${text.tone}`}
        data-testid="provider-badge"
        data-state={status.chat.state}
        data-fallback={text.fallback !== null}
        aria-expanded={open}
        aria-controls={open ? detailsId : undefined}
        aria-label={`${text.sentence} Show provider details`}
        title={text.sentence}
        onClick={() => {
          setPinned((previous) => !previous);
        }}
      >
        {text.tone === "loading" && <span className="spinner" aria-hidden="true" />}
        {/* Failed, or a failed load beside the model that still answers. */}
        {status.chat.error !== null && <AlertIcon />}
        <span className="provider-badge-kind">{text.kind}</span>
        {text.detail !== null && <span className="provider-badge-detail">{text.detail}</span>}
        {text.fallback !== null && (
          <span className="provider-badge-fallback" data-testid="provider-badge-fallback">
            fallback
          </span>
        )}
      </button>
      {open && <ProviderDetails id={detailsId} status={status} />}
    </div>
  );
}
