import { setFlagsFromString } from 'node:v8';
import type { RegExpEngine } from 'ajv/dist/types/index.js';

// V8's linear-time engine (the `l` flag) matches in time linear in the input whatever the
// pattern, so a manifest's `pattern` such as `^(a+)+$` cannot stall the event loop on a crafted
// input (ReDoS). The flag only makes the `l` flag available; other regular expressions are
// untouched. It is read when a RegExp is created, so setting it at load time is enough.
setFlagsFromString('--enable-experimental-regexp-engine');

/**
 * Most choices a pattern run by the ordinary (backtracking) engine may make at one position of
 * the input: the product of its quantifiers' ranges and of its alternatives. With no unbounded
 * quantifier and no quantified group, that bounds its work per input character.
 */
export const MAX_BACKTRACKING_CHOICES = 256;

/**
 * Escapes whose meaning needs the `u` flag (`\p{…}`, `\P{…}`, `\u{…}`). The linear engine
 * does not run `u` patterns, and without `u` these would silently mean something else
 * (`\p{L}` is the text "p{L}").
 */
function unicodeOnlyEscape(pattern: string): boolean {
  for (let i = 0; i < pattern.length - 2; i++) {
    if (pattern[i] !== '\\') continue;
    const escape = pattern[i + 1];
    if ((escape === 'p' || escape === 'P' || escape === 'u') && pattern[i + 2] === '{') return true;
    i++; // the escaped character, so that `\\p{` is a backslash then "p{"
  }
  return false;
}

/**
 * The choices (see {@link MAX_BACKTRACKING_CHOICES}) of a pattern already known to be a valid
 * `u`-mode regular expression, or null when they are not bounded: an unbounded quantifier
 * (`*`, `+`, `{n,}`), a quantified group, a backreference or a lookaround.
 */
export function backtrackingChoices(pattern: string): number | null {
  let choices = 1;
  // Alternatives per open group; the outermost entry is the whole pattern.
  const alternatives = [1];
  let quantifiable: 'atom' | 'group' | null = null;
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (/[1-9k]/.test(next)) return null; // backreference
      i = next === 'p' || next === 'P' || (next === 'u' && pattern[i + 2] === '{') ? pattern.indexOf('}', i) + 1 : i + 2;
      quantifiable = 'atom';
    } else if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      i++;
      quantifiable = 'atom';
    } else if (c === '(') {
      if (/^\(\?<?[=!]/.test(pattern.slice(i, i + 4))) return null; // lookaround
      const named = /^\(\?(:|<[^>]+>)/.exec(pattern.slice(i));
      i += named ? named[0].length : 1;
      alternatives.push(1);
      quantifiable = null;
    } else if (c === ')') {
      choices *= alternatives.pop()!;
      i++;
      quantifiable = 'group';
    } else if (c === '|') {
      alternatives[alternatives.length - 1]++;
      i++;
      quantifiable = null;
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      const range = c === '?' ? [0, 1] : c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i)) : null;
      if (c === '{' && !range) {
        // A literal brace (only outside u mode); counted as an atom.
        i++;
        quantifiable = 'atom';
        continue;
      }
      if (!range || quantifiable === 'group') return null;
      const [min, max] = c === '?' ? [0, 1] : [Number(range[1]), range[2] === undefined ? Number(range[1]) : range[3] === '' ? Infinity : Number(range[3])];
      if (max === Infinity) return null;
      choices *= max - min + 1;
      i += c === '{' ? (range as RegExpExecArray)[0].length : 1;
      if (pattern[i] === '?') i++; // lazy
      quantifiable = null;
    } else {
      i++;
      quantifiable = c === '^' || c === '$' ? null : 'atom';
    }
    if (choices > Number.MAX_SAFE_INTEGER) return null;
  }
  return choices * alternatives[0];
}

/**
 * Ajv's engine for user schemas (`pattern`, `patternProperties`). A pattern runs in V8's
 * linear-time engine when that engine can run it, per UTF-16 code unit (as JavaScript without
 * the `u` flag: a character outside the Basic Multilingual Plane counts as two for `.` and
 * classes). The linear engine refuses counted repetitions above 16 (`{1,63}`) and `u`-only
 * escapes (`\p{L}`); such a pattern runs in the ordinary engine, with the `u` flag, when its
 * work per input character is bounded ({@link backtrackingChoices}). Anything else throws,
 * which Ajv reports as a schema compile error when the manifest is written.
 */
export const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string, flags: string) => {
    if (!unicodeOnlyEscape(pattern)) {
      try {
        return new RegExp(pattern, `${flags.replace('u', '')}l`);
      } catch (err) {
        if (!/linear time/.test((err as Error).message)) throw err;
      }
    }
    const unicode = new RegExp(pattern, `${flags.replace('u', '')}u`);
    const choices = backtrackingChoices(pattern);
    if (choices !== null && choices <= MAX_BACKTRACKING_CHOICES) return unicode;
    throw new SyntaxError(
      `pattern "${pattern}" can take more than linear time: backreferences and lookaround are not supported, and a pattern ` +
        `with a counted repetition above {16} or \\p{…} may not also have *, +, {n,}, a quantified group, or more than ` +
        `${MAX_BACKTRACKING_CHOICES} choices in all (e.g. {1,63} is fine, .{1,1000} is not: use maxLength)`,
    );
  },
  // Anything but "new RegExp" makes Ajv's generated code call this function.
  { code: 'linearRegExp' },
);
