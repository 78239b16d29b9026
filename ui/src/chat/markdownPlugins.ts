// How model output becomes markup, and why it can never run script:
// - react-markdown builds React elements from a syntax tree; nothing is ever assigned to
//   innerHTML, so there is no HTML string to sanitize in the first place.
// - Raw HTML in the text (`<script>`, `<img onerror>`) is turned into plain text by
//   `remarkHtmlAsText` below: it shows as typed, which is also what a user asking about HTML
//   wants to see. Without it react-markdown would drop it silently.
// - URLs go through react-markdown's `defaultUrlTransform`, which blanks every protocol but
//   http(s), mailto, irc(s) and xmpp: `javascript:` and `data:` links lose their href.
import { defaultUrlTransform } from "react-markdown";

/** The part of an mdast node this plugin reads (typed here to avoid depending on @types/mdast). */
interface MarkdownNode {
  type: string;
  value?: string;
  children?: MarkdownNode[];
}

function htmlToText(node: MarkdownNode): void {
  if (node.type === "html") {
    node.type = "text";
  }
  node.children?.forEach(htmlToText);
}

/** A remark plugin: raw HTML nodes become text nodes with the same source text. */
export function remarkHtmlAsText() {
  return (tree: MarkdownNode) => {
    htmlToText(tree);
  };
}

/** Links keep only safe protocols; anything else gets an empty href. */
export function safeUrl(url: string): string {
  return defaultUrlTransform(url);
}

/** The text of a hast subtree (a code block's source, for its Copy button). */
export interface HastNode {
  type: string;
  value?: string;
  children?: HastNode[];
}

export function textOf(node: HastNode | undefined): string {
  if (node === undefined) {
    return "";
  }
  if (node.type === "text") {
    return node.value ?? "";
  }
  return (node.children ?? []).map(textOf).join("");
}
