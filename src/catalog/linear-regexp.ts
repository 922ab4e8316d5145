import { setFlagsFromString } from 'node:v8';
import type { RegExpEngine } from 'ajv/dist/types/index.js';

// V8's linear-time engine (the `l` flag) matches in time linear in the input whatever the
// pattern, so a manifest's `pattern` such as `^(a+)+$` cannot stall the event loop on a crafted
// input (ReDoS). The flag only makes the `l` flag available; other regular expressions are
// untouched. It is read when a RegExp is created, so setting it at load time is enough.
setFlagsFromString('--enable-experimental-regexp-engine');

/**
 * Escapes whose meaning needs the `u` flag (`\p{…}`, `\P{…}`, `\u{…}`). The linear engine
 * does not run `u` patterns, and without `u` these would silently mean something else
 * (`\p{L}` is the text "p{L}"), so such patterns are refused rather than reinterpreted.
 */
function unicodeOnlyEscape(pattern: string): string | null {
  for (let i = 0; i < pattern.length - 2; i++) {
    if (pattern[i] !== '\\') continue;
    const escape = pattern[i + 1];
    if ((escape === 'p' || escape === 'P' || escape === 'u') && pattern[i + 2] === '{') return `\\${escape}{`;
    i++; // the escaped character, so that `\\p{` is a backslash then "p{"
  }
  return null;
}

/**
 * Ajv's engine for user schemas (`pattern`, `patternProperties`): every pattern runs in V8's
 * linear-time engine, per UTF-16 code unit (as JavaScript without the `u` flag: a character
 * outside the Basic Multilingual Plane counts as two for `.` and classes). Patterns that
 * engine cannot run — backreferences, lookahead and lookbehind — and `u`-only escapes throw,
 * which Ajv reports as a schema compile error when the manifest is written.
 */
export const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string, flags: string) => {
    const escape = unicodeOnlyEscape(pattern);
    if (escape) throw new SyntaxError(`pattern "${pattern}" uses ${escape}…}, which is not supported (patterns run without the u flag)`);
    try {
      return new RegExp(pattern, `${flags.replace('u', '')}l`);
    } catch (err) {
      if (!/linear time/.test((err as Error).message)) throw err;
      throw new SyntaxError(
        `pattern "${pattern}" cannot be matched in linear time: backreferences, lookahead and lookbehind are not supported`,
      );
    }
  },
  // Anything but "new RegExp" makes Ajv's generated code call this function.
  { code: 'linearRegExp' },
);
