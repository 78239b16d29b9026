import { memo, useDeferredValue, useState, type ReactNode } from "react";
import ReactMarkdown, { type Components, type Options } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";

import { copyText } from "../common/clipboard";
import { openLink, toCommandError } from "../ipc";
import { CopyButton } from "../common/CopyButton";
import { remarkHtmlAsText, safeUrl, textOf, type HastNode } from "./markdownPlugins";

const REMARK_PLUGINS: Options["remarkPlugins"] = [remarkGfm, remarkHtmlAsText];
// `detect: false`: guessing a language for every unlabelled block costs time on each streamed
// token and often guesses wrong; labelled blocks are highlighted.
const REHYPE_PLUGINS: Options["rehypePlugins"] = [[rehypeHighlight, { detect: false }]];

/** Web links go to the user's browser; the shell checks them again (IPC.md, `open_link`). */
function isWebLink(href: string): boolean {
  return /^https?:\/\//i.test(href);
}

/**
 * The app's webview must never navigate away (there is no back button), so a link is never
 * followed in place: a web link opens in the user's browser, and anything else (or a web link
 * the system cannot open) is copied for the user to use as they see fit.
 */
function SafeLink({ href, children }: { href?: string | undefined; children?: ReactNode }) {
  const [note, setNote] = useState<string | null>(null);
  if (href === undefined || href === "") {
    return <span className="md-link-disabled">{children}</span>;
  }
  const web = isWebLink(href);
  const copy = async (why: string) => {
    setNote((await copyText(href)) ? `${why}; link copied` : why);
  };
  return (
    <a
      href={href}
      title={note ?? (web ? `Open in your browser: ${href}` : `Copy link: ${href}`)}
      rel="noopener noreferrer"
      onClick={(event) => {
        event.preventDefault();
        if (!web) {
          void copy("Not a web link");
          return;
        }
        openLink(href).then(
          () => {
            setNote(`Opened in your browser: ${href}`);
          },
          (raw: unknown) => {
            void copy(`Could not open it: ${toCommandError(raw).message}`);
          },
        );
      }}
    >
      {children}
    </a>
  );
}

/** Images are not fetched (the CSP forbids remote content anyway); their text is shown. */
function ImageAsText({ alt, src }: { alt?: string | undefined; src?: string | undefined }) {
  return (
    <span className="md-image">[image: {alt !== undefined && alt !== "" ? alt : (src ?? "")}]</span>
  );
}

function CodeBlock({ node, children }: { node?: HastNode | undefined; children?: ReactNode }) {
  const code = textOf(node);
  return (
    <div className="code-block">
      <div className="code-toolbar">
        <CopyButton text={code.replace(/\n$/, "")} label="Copy code" />
      </div>
      <pre>{children}</pre>
    </div>
  );
}

const COMPONENTS: Components = {
  a: ({ href, children }) => <SafeLink href={href}>{children}</SafeLink>,
  img: ({ alt, src }) => <ImageAsText alt={alt} src={typeof src === "string" ? src : undefined} />,
  pre: ({ node, children }) => <CodeBlock node={node}>{children}</CodeBlock>,
};

/**
 * Model output as Markdown (GFM tables, lists, code with highlighting), safely: see
 * markdownPlugins.ts. While a reply streams, parsing can lag behind the tokens
 * (useDeferredValue) so typing and scrolling stay smooth.
 */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const deferred = useDeferredValue(text);
  return (
    <div className="markdown selectable">
      <ReactMarkdown
        remarkPlugins={REMARK_PLUGINS}
        rehypePlugins={REHYPE_PLUGINS}
        components={COMPONENTS}
        urlTransform={safeUrl}
        skipHtml={false}
      >
        {deferred}
      </ReactMarkdown>
    </div>
  );
});
