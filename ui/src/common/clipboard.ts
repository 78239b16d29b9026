/**
 * Copies text with the web Clipboard API, which the webview grants to a page that has focus
 * after a click. Resolves false when there is no clipboard (a plain test DOM) or it refused.
 */
export async function copyText(text: string): Promise<boolean> {
  // Absent in some DOMs even though the types say it is always there.
  const clipboard = navigator.clipboard as Clipboard | undefined;
  if (clipboard === undefined) {
    return false;
  }
  try {
    await clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
