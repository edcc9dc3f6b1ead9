/**
 * The path and query of a request target, read without `new URL()`: a target
 * such as `//%5B` or `//[` is not a valid URL relative to any base (`new URL`
 * throws), yet it is a legal HTTP request target for the parser that received
 * it. Anything a client sends must be answered, never thrown on.
 */
export interface RequestTarget {
  /** Everything before the first "?" (as sent, not decoded). */
  path: string;
  query: URLSearchParams;
}

export function readTarget(target: string | undefined): RequestTarget {
  const text = target ?? '/';
  const mark = text.indexOf('?');
  // URLSearchParams never throws: malformed percent-escapes are kept as they are.
  return mark === -1
    ? { path: text, query: new URLSearchParams() }
    : { path: text.slice(0, mark), query: new URLSearchParams(text.slice(mark + 1)) };
}
