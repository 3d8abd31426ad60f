const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

interface ObjectFrame {
  readonly keys: Set<string>;
  readonly path: string;
  /** The key whose value comes next (set after a key is read, cleared at the next comma). */
  key: string | undefined;
}

interface ArrayFrame {
  readonly path: string;
  index: number;
}

type Frame = ObjectFrame | ArrayFrame;

function isObject(frame: Frame | undefined): frame is ObjectFrame {
  return frame !== undefined && 'keys' in frame;
}

/** Where a value opened inside `parent` lives: `body.claimant`, `body.targets.0`. */
function childPath(parent: Frame | undefined, root: string): string {
  if (parent === undefined) return root;
  return isObject(parent) ? `${parent.path}.${parent.key}` : `${parent.path}.${parent.index}`;
}

/**
 * The paths of every key that appears twice in one object of `text` (`['body.summary']`), in order of their
 * second appearance. `text` must already be valid JSON (parse it first): this only walks its structure, in one
 * pass and without building values. Keys are compared after unescaping, so `"summ\u0061ry"` is `summary`.
 *
 * @example
 * ```ts
 * duplicateKeys('{"summary":"a","summary":"b"}'); // ['body.summary']
 * ```
 */
export function duplicateKeys(text: string, root = 'body'): string[] {
  const duplicates = new Set<string>();
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      // The closing quote is the next one not escaped, i.e. not after an odd run of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1);
        let slashes = 0;
        while (text.charCodeAt(i - 1 - slashes) === BACKSLASH) slashes += 1;
        if (slashes % 2 === 0) break;
      }
      const top = stack.at(-1);
      // A string is a key when it opens a member: its object has no pending key.
      if (isObject(top) && top.key === undefined) {
        const raw = text.slice(start, i + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) duplicates.add(`${top.path}.${key}`);
        top.keys.add(key);
        top.key = key;
      }
    } else if (c === OPEN_OBJECT) {
      stack.push({ keys: new Set(), path: childPath(stack.at(-1), root), key: undefined });
    } else if (c === OPEN_ARRAY) {
      stack.push({ path: childPath(stack.at(-1), root), index: 0 });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === COMMA) {
      const top = stack.at(-1)!;
      if (isObject(top)) top.key = undefined;
      else top.index += 1;
    }
  }
  return [...duplicates];
}
