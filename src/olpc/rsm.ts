import xml, { type Element } from "@xmpp/xml";
import { StanzaError } from "../xmpp/stanza-error.js";
import { NS_RSM } from "./namespaces.js";
import { childrenWithNs, parseCount, textOnly } from "./xml.js";

/** XEP-0059 Result Set Management over an ordered, in-memory list of results. */

export interface RsmRequest {
  /** Whether the request carried a `<set/>` at all (answer with one when it did). */
  present: boolean;
  /** Page size: the requested `<max/>` capped at the responder's limit, or the limit itself. */
  max: number;
  /** The page after this UID. */
  after?: string;
  /** The page before this UID; "" (an empty `<before/>`) asks for the last page. */
  before?: string;
  /** The page starting at this position. */
  index?: number;
}

export interface RsmPage<T> {
  items: T[];
  /** UID and position of the page's first item; absent on an empty page. */
  first?: { uid: string; index: number };
  /** UID of the page's last item; absent on an empty page. */
  last?: string;
  /** Size of the full result set. */
  count: number;
}

const SET_CHILDREN = ["max", "after", "before", "index"] as const;
type SetChild = (typeof SET_CHILDREN)[number];

/**
 * Reads a request's `<set xmlns=rsm/>` (undefined: no set, the first `cap` results). XEP-0059
 * lets the responder return fewer items than asked, so a `<max/>` over `cap` is lowered to `cap`;
 * a max or index that is not a non-negative integer, an empty `<after/>`, a repeated element,
 * or more than one of after/before/index is bad-request.
 */
export function parseRsm(set: Element | undefined, cap: number): RsmRequest {
  if (set === undefined) return { present: false, max: cap };
  const found = new Map<SetChild, string>();
  for (const { element, ns } of childrenWithNs(set, NS_RSM)) {
    const name = element.name as SetChild;
    if (ns !== NS_RSM || !SET_CHILDREN.includes(name)) {
      throw new StanzaError("bad-request", `unexpected <${element.name}/> in a result set request`);
    }
    if (found.has(name)) {
      throw new StanzaError("bad-request", `<${name}/> appears more than once in <set/>`);
    }
    found.set(name, textOnly(element, `<${name}/>`));
  }
  const request: RsmRequest = { present: true, max: cap };
  const max = found.get("max");
  if (max !== undefined) request.max = Math.min(parseCount(max, "<max/>"), cap);
  const positions = (["after", "before", "index"] as const).filter((name) => found.has(name));
  if (positions.length > 1) {
    throw new StanzaError("bad-request", `use only one of ${positions.join(", ")} in <set/>`);
  }
  const after = found.get("after");
  if (after !== undefined) {
    if (after === "") throw new StanzaError("bad-request", "<after/> needs a UID");
    request.after = after;
  }
  const before = found.get("before");
  if (before !== undefined) request.before = before;
  const index = found.get("index");
  if (index !== undefined) request.index = parseCount(index, "<index/>");
  return request;
}

/**
 * The page of `items` (already in their stable order) that `request` asks for. An after/before
 * UID that is not in `items` is item-not-found (XEP-0059 §2.5: UIDs here carry no order); an
 * index past the end gives an empty page (§2.7).
 */
export function page<T>(
  items: readonly T[],
  uidOf: (item: T) => string,
  request: RsmRequest,
): RsmPage<T> {
  const count = items.length;
  let start = 0;
  let end = Math.min(request.max, count);
  if (request.after !== undefined) {
    start = positionOf(items, uidOf, request.after) + 1;
    end = Math.min(start + request.max, count);
  } else if (request.before !== undefined) {
    end = request.before === "" ? count : positionOf(items, uidOf, request.before);
    start = Math.max(0, end - request.max);
  } else if (request.index !== undefined) {
    start = Math.min(request.index, count);
    end = Math.min(start + request.max, count);
  }
  const selected = items.slice(start, end);
  const head = selected[0];
  const tail = selected[selected.length - 1];
  if (head === undefined || tail === undefined) return { items: [], count };
  return {
    items: selected,
    first: { uid: uidOf(head), index: start },
    last: uidOf(tail),
    count,
  };
}

/** `<set xmlns=rsm>[<first index>…</first><last>…</last>]<count>n</count></set>`. */
export function serializeRsm(result: Omit<RsmPage<unknown>, "items">): Element {
  const set = xml("set", { xmlns: NS_RSM });
  if (result.first !== undefined && result.last !== undefined) {
    set.append(xml("first", { index: String(result.first.index) }, result.first.uid));
    set.append(xml("last", {}, result.last));
  }
  set.append(xml("count", {}, String(result.count)));
  return set;
}

function positionOf<T>(items: readonly T[], uidOf: (item: T) => string, uid: string): number {
  const position = items.findIndex((item) => uidOf(item) === uid);
  if (position < 0) {
    throw new StanzaError("item-not-found", `no item '${uid}' in the result set (it may be gone)`);
  }
  return position;
}
