/** U+0000 or a lone UTF-16 surrogate: neither can be stored by PostgreSQL text or jsonb (nor encoded as UTF-8). */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether PostgreSQL can store `text` (in a text or jsonb column). */
export const isStorableText = (text: string): boolean => !UNSTORABLE.test(text);

/** `text` with each unstorable character replaced by U+FFFD, for text we only relay (a provider's error message). */
export const storableText = (text: string): string => text.replace(new RegExp(UNSTORABLE.source, 'g'), '\ufffd');

/**
 * Dotted paths (under `root`) of the strings and keys in `value` holding unstorable text, at
 * most 20. Sent on, such a value fails in PostgreSQL: refuse it with a 400 that names the field.
 */
export function unstorableTextFields(value: unknown, root = ''): string[] {
  const found: string[] = [];
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length > 0 && found.length < 20) {
    const [item, path] = stack.pop()!;
    if (typeof item === 'string') {
      if (UNSTORABLE.test(item)) found.push(path || 'body');
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        const name = UNSTORABLE.test(key) ? '?' : key;
        const childPath = path ? `${path}.${name}` : name;
        if (name === '?') found.push(childPath);
        stack.push([child, childPath]);
      }
    }
  }
  return found.reverse();
}

/** The message of an `errors[]` entry for such a field. */
export const unstorableTextMessage = (field: string): string => `${field} must be well-formed Unicode text without NUL characters.`;
