/**
 * Cheap stanza framing for benchmark load generators and floors: finds where top-level elements of
 * an XMPP stream begin and end, without building a tree, so that the tools measuring a server
 * spend as little CPU per stanza as possible.
 *
 * It relies on what servers send: attribute values and text escape `<` and `>` (Prosody and
 * ejabberd both do), and no comments or CDATA inside stanzas. It is not a parser for input of
 * unknown origin.
 */
export interface ScanHandlers {
  /** A stream header (`<stream:stream …>`), at the start and after every stream restart. */
  header?(tag: string): void;
  /** One complete top-level element, from its `<` to its final `>`. */
  stanza(xml: string): void;
  /** The closing `</stream:stream>`. */
  end?(): void;
}

const SLASH = 47; // /
const QUESTION = 63; // ?
const BANG = 33; // !

export class StanzaScanner {
  #buffer = "";
  /** Where the next scan starts, relative to #buffer. */
  #pos = 0;
  /** Where the top-level element being read began, or -1. */
  #start = -1;
  /** 0 outside the stream, 1 inside it, 2+ inside a stanza. */
  #depth = 0;

  constructor(private readonly handlers: ScanHandlers) {}

  /** Feeds a chunk of text (a socket in utf8 mode, so that no character is split). */
  push(chunk: string): void {
    const buffer = this.#buffer.length === 0 ? chunk : this.#buffer + chunk;
    let pos = this.#pos;
    let start = this.#start;
    let depth = this.#depth;
    for (;;) {
      const open = buffer.indexOf("<", pos);
      if (open < 0) {
        pos = buffer.length;
        break;
      }
      const close = buffer.indexOf(">", open + 1);
      if (close < 0) {
        pos = open;
        break;
      }
      pos = close + 1;
      const kind = buffer.charCodeAt(open + 1);
      if (kind === QUESTION || kind === BANG) continue;
      if (kind === SLASH) {
        depth -= 1;
        if (depth === 1) {
          this.handlers.stanza(buffer.slice(start, pos));
          start = -1;
        } else if (depth <= 0) {
          depth = 0;
          this.handlers.end?.();
        }
        continue;
      }
      if (depth === 0 || buffer.startsWith("stream:stream", open + 1)) {
        depth = 1;
        start = -1;
        this.handlers.header?.(buffer.slice(open, pos));
        continue;
      }
      const selfClosing = buffer.charCodeAt(close - 1) === SLASH;
      if (depth === 1) {
        if (selfClosing) {
          this.handlers.stanza(buffer.slice(open, pos));
        } else {
          start = open;
          depth = 2;
        }
      } else if (!selfClosing) {
        depth += 1;
      }
    }
    const keep = start >= 0 ? start : pos;
    this.#buffer = keep >= buffer.length ? "" : buffer.slice(keep);
    this.#pos = pos - keep;
    this.#start = start >= 0 ? start - keep : -1;
    this.#depth = depth;
  }

  /** Bytes held while waiting for the rest of an element (for sanity checks). */
  get pending(): number {
    return this.#buffer.length;
  }
}

/** The start tag of an element's text, e.g. `<iq type='result' id='a1'>`. */
export function startTag(xml: string): string {
  const end = xml.indexOf(">");
  return end < 0 ? xml : xml.slice(0, end + 1);
}

/** The element's name, e.g. `iq` or `stream:error`. */
export function tagName(xml: string): string {
  let end = 1;
  while (end < xml.length) {
    const code = xml.charCodeAt(end);
    if (code === 32 || code === 62 || code === SLASH || code === 9 || code === 10 || code === 13) {
      break;
    }
    end += 1;
  }
  return xml.slice(1, end);
}

/**
 * The children of a stanza as raw XML (`<iq …>CHILDREN</iq>`): what a floor sends again in its own
 * stanzas. Empty for a stanza without children.
 */
export function innerXml(xml: string): string {
  const end = xml.lastIndexOf(`</${tagName(xml)}>`);
  return end < 0 ? "" : xml.slice(startTag(xml).length, end);
}

/**
 * An attribute's raw (still escaped) value in a start tag, or undefined. Copying a raw value into
 * another stanza keeps it correctly escaped.
 */
export function attr(tag: string, name: string): string | undefined {
  let at = tag.indexOf(` ${name}=`);
  if (at < 0) return undefined;
  at += name.length + 2;
  const quote = tag.charCodeAt(at);
  if (quote !== 39 && quote !== 34) return undefined;
  const end = tag.indexOf(quote === 39 ? "'" : '"', at + 1);
  return end < 0 ? undefined : tag.slice(at + 1, end);
}

/** The text of the first `<name>` element inside `xml` (e.g. the bound JID), or undefined. */
export function childText(xml: string, name: string): string | undefined {
  for (let open = xml.indexOf(`<${name}`); open >= 0; open = xml.indexOf(`<${name}`, open + 1)) {
    const next = xml.charCodeAt(open + name.length + 1);
    if (next !== 62 && next !== 32 && next !== SLASH) continue; // ">", " ", "/"
    const from = xml.indexOf(">", open);
    if (xml.charCodeAt(from - 1) === SLASH) return "";
    const to = xml.indexOf(`</${name}>`, from);
    return to < 0 ? undefined : xml.slice(from + 1, to);
  }
  return undefined;
}

/** Escapes a value for an attribute or text. */
export function escapeXml(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/'/g, "&apos;")
    .replace(/"/g, "&quot;");
}
