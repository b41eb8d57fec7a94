/** Credentials out of URLs and messages before they are logged or shown. */

/** Removes user:password from a URL so it can be logged or shown. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = '';
      parsed.password = '';
    }
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(invalid url)';
  }
}

/** Removes credentials from any URL inside a message (error texts can quote the URL they failed on). */
export const redactText = (text: string): string => text.replace(/\/\/[^/@\s]+@/g, '//');

/** An error's message, without credentials, for logs. */
export const redactError = (error: unknown): string => redactText(error instanceof Error ? error.message : String(error));
