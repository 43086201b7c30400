import type { Element } from "@xmpp/xml";
import { StanzaError } from "../xmpp/stanza-error.js";
import {
  isEmptyActivityCriteria,
  isEmptyBuddyCriteria,
  type ActivityCriteria,
  type BuddyCriteria,
} from "./match.js";
import { sortedUnique } from "./model.js";
import { NS_ACTIVITY, NS_ACTIVITY_PROPS, NS_BUDDY, NS_BUDDY_PROPS, NS_RSM } from "./namespaces.js";
import type { OlpcLimits } from "./limits.js";
import { parsePropertyList, parseProperties, type Property } from "./properties.js";
import { parseRsm, type RsmRequest } from "./rsm.js";
import {
  checkLength,
  childrenWithNs,
  jidAttr,
  namespaceOf,
  optionalAttr,
  parseCount,
  requiredAttr,
} from "./xml.js";

/** What laptops ask the index: the draft's `<query/>`s, Gabble's `<view/>`s, `<close/>`. */

export type ViewTarget = "activity" | "buddy";

/** Draft: `<query xmlns=NS_ACTIVITY>[<activity [id]>…</activity>][<set xmlns=rsm/>]</query>`. */
export interface ActivityQueryRequest {
  kind: "activity-query";
  criteria: ActivityCriteria;
  rsm: RsmRequest;
}

/** Draft and Gabble: `<query xmlns=NS_BUDDY><buddy jid/></query>`, or a bare `<buddy/>`. */
export interface BuddyQueryRequest {
  kind: "buddy-query";
  criteria: BuddyCriteria;
  rsm: RsmRequest;
  /** "buddy": the draft's example sent `<buddy xmlns=NS_BUDDY jid/>` as the iq's child. */
  wrapper: "query" | "buddy";
}

/** Gabble: `<view xmlns id size><activity>…</activity></view>`; no criteria = random. */
export interface ActivityViewRequest {
  kind: "activity-view";
  viewId: string;
  size: number;
  criteria: ActivityCriteria;
  random: boolean;
}

export interface BuddyViewRequest {
  kind: "buddy-view";
  viewId: string;
  size: number;
  criteria: BuddyCriteria;
  random: boolean;
}

/** `<message><close xmlns=NS_ACTIVITY|NS_BUDDY id/></message>`. */
export interface CloseRequest {
  kind: "close";
  target: ViewTarget;
  viewId: string;
}

export type IqRequest =
  ActivityQueryRequest | BuddyQueryRequest | ActivityViewRequest | BuddyViewRequest;

/** Reads the child of an `<iq type=get/>` addressed to the index. */
export function parseIqRequest(payload: Element, limits: OlpcLimits): IqRequest {
  const ns = namespaceOf(payload, undefined);
  if (ns === NS_ACTIVITY && payload.name === "query") return parseActivityQuery(payload, limits);
  if (ns === NS_ACTIVITY && payload.name === "view") return parseActivityView(payload, limits);
  if (ns === NS_BUDDY && (payload.name === "query" || payload.name === "buddy")) {
    return parseBuddyQuery(payload, limits);
  }
  if (ns === NS_BUDDY && payload.name === "view") return parseBuddyView(payload, limits);
  throw new StanzaError("feature-not-implemented", `<${payload.name}/> in ${ns ?? "no namespace"}`);
}

export function parseActivityQuery(query: Element, limits: OlpcLimits): ActivityQueryRequest {
  const { criteria, set } = queryParts(query, NS_ACTIVITY, "activity");
  return {
    kind: "activity-query",
    criteria: criteria ? parseActivityCriteria(criteria, NS_ACTIVITY, limits) : {},
    rsm: parseRsm(set, limits.maxPageSize),
  };
}

export function parseBuddyQuery(payload: Element, limits: OlpcLimits): BuddyQueryRequest {
  if (payload.name === "buddy") {
    return {
      kind: "buddy-query",
      criteria: parseBuddyCriteria(payload, NS_BUDDY, limits),
      rsm: parseRsm(undefined, limits.maxPageSize),
      wrapper: "buddy",
    };
  }
  const { criteria, set } = queryParts(payload, NS_BUDDY, "buddy");
  return {
    kind: "buddy-query",
    criteria: criteria ? parseBuddyCriteria(criteria, NS_BUDDY, limits) : {},
    rsm: parseRsm(set, limits.maxPageSize),
    wrapper: "query",
  };
}

export function parseActivityView(view: Element, limits: OlpcLimits): ActivityViewRequest {
  const { viewId, size, criteria } = viewParts(view, NS_ACTIVITY, "activity", limits);
  const parsed = criteria ? parseActivityCriteria(criteria, NS_ACTIVITY, limits) : {};
  return {
    kind: "activity-view",
    viewId,
    size,
    criteria: parsed,
    random: isEmptyActivityCriteria(parsed),
  };
}

export function parseBuddyView(view: Element, limits: OlpcLimits): BuddyViewRequest {
  const { viewId, size, criteria } = viewParts(view, NS_BUDDY, "buddy", limits);
  const parsed = criteria ? parseBuddyCriteria(criteria, NS_BUDDY, limits) : {};
  return {
    kind: "buddy-view",
    viewId,
    size,
    criteria: parsed,
    random: isEmptyBuddyCriteria(parsed),
  };
}

export function parseClose(close: Element, limits: OlpcLimits): CloseRequest {
  const ns = namespaceOf(close, undefined);
  if (close.name !== "close" || (ns !== NS_ACTIVITY && ns !== NS_BUDDY)) {
    throw new StanzaError("bad-request", "expected <close xmlns=activity|buddy id=…/>");
  }
  return {
    kind: "close",
    target: ns === NS_ACTIVITY ? "activity" : "buddy",
    viewId: requiredAttr(close, "id", limits.maxIdLength),
  };
}

/**
 * `<activity [id]>` holding, in any order: the draft's `<property/>` children, or one Gabble
 * `<properties xmlns=activity-properties/>`; and `<buddy jid/>` participants.
 */
export function parseActivityCriteria(
  activity: Element,
  inheritedNs: string,
  limits: OlpcLimits,
): ActivityCriteria {
  const ns = namespaceOf(activity, inheritedNs);
  const criteria: ActivityCriteria = {};
  const id = optionalAttr(activity, "id");
  if (id !== undefined && id !== "") {
    checkLength(activity, "id", id, limits.maxIdLength);
    criteria.id = id;
  }
  const participants: string[] = [];
  const rest: Element[] = [];
  for (const { element, ns: childNs } of childrenWithNs(activity, ns)) {
    if (element.name === "buddy" && childNs === ns) {
      participants.push(jidAttr(element, "jid"));
    } else {
      rest.push(element);
    }
  }
  if (participants.length > limits.maxCriteriaBuddies) {
    throw new StanzaError(
      "policy-violation",
      `at most ${limits.maxCriteriaBuddies} buddies per activity query, got ${participants.length}`,
    );
  }
  if (participants.length > 0) criteria.participants = sortedUnique(participants);
  const properties = criteriaProperties(activity, ns, rest, NS_ACTIVITY_PROPS, limits);
  if (properties.length > 0) criteria.properties = properties;
  return criteria;
}

/** `<buddy [jid] [alias]>` holding `<properties xmlns=buddy-properties/>` or `<property/>`s. */
export function parseBuddyCriteria(
  buddy: Element,
  inheritedNs: string,
  limits: OlpcLimits,
): BuddyCriteria {
  const ns = namespaceOf(buddy, inheritedNs);
  const criteria: BuddyCriteria = {};
  if (optionalAttr(buddy, "jid") !== undefined) criteria.jid = jidAttr(buddy, "jid");
  const alias = optionalAttr(buddy, "alias");
  if (alias !== undefined && alias.trim() !== "") {
    checkLength(buddy, "alias", alias, limits.maxIdLength);
    criteria.alias = alias;
  }
  const properties = criteriaProperties(
    buddy,
    ns,
    childrenWithNs(buddy, ns).map((c) => c.element),
    NS_BUDDY_PROPS,
    limits,
  );
  if (properties.length > 0) criteria.properties = properties;
  return criteria;
}

/** Properties given either as one `<properties/>` or as `<property/>` children, not both. */
function criteriaProperties(
  parent: Element,
  parentNs: string | undefined,
  children: readonly Element[],
  propertiesNs: string,
  limits: OlpcLimits,
): Property[] {
  const direct: Element[] = [];
  const wrappers: Element[] = [];
  for (const element of children) {
    const ns = namespaceOf(element, parentNs);
    if (element.name === "property" && ns === parentNs) direct.push(element);
    else if (element.name === "properties" && (ns === propertiesNs || ns === parentNs)) {
      wrappers.push(element);
    } else {
      throw new StanzaError("bad-request", `unexpected <${element.name}/> in <${parent.name}/>`);
    }
  }
  if (wrappers.length > 1 || (wrappers.length === 1 && direct.length > 0)) {
    throw new StanzaError(
      "bad-request",
      `<${parent.name}/> takes one <properties/> or <property/> children, not both`,
    );
  }
  const wrapper = wrappers[0];
  return wrapper ? parseProperties(wrapper, limits) : parsePropertyList(direct, limits);
}

function queryParts(
  query: Element,
  ns: string,
  criteriaName: string,
): { criteria: Element | undefined; set: Element | undefined } {
  let criteria: Element | undefined;
  let set: Element | undefined;
  for (const { element, ns: childNs } of childrenWithNs(query, ns)) {
    if (element.name === criteriaName && childNs === ns && criteria === undefined) {
      criteria = element;
    } else if (element.name === "set" && childNs === NS_RSM && set === undefined) {
      set = element;
    } else {
      throw new StanzaError(
        "bad-request",
        `a query takes one <${criteriaName}/> and one <set xmlns='${NS_RSM}'/>, ` +
          `not <${element.name}/>`,
      );
    }
  }
  return { criteria, set };
}

/**
 * `id` (required), `size` (optional, at most the cap) and the one criteria child. Older Gabbles (2008)
 * sent `<view id><random max/></view>` or a bare `<view id size/>`: both are a random view.
 */
function viewParts(
  view: Element,
  ns: string,
  criteriaName: string,
  limits: OlpcLimits,
): { viewId: string; size: number; criteria: Element | undefined } {
  const viewId = requiredAttr(view, "id", limits.maxIdLength);
  const sizeAttr = optionalAttr(view, "size");
  let size = sizeAttr === undefined ? undefined : parseCount(sizeAttr, "view 'size'");
  const children = childrenWithNs(view, ns);
  const [only, extra] = children;
  let criteria: Element | undefined;
  if (extra !== undefined) {
    throw new StanzaError("bad-request", `a view takes one <${criteriaName}/> child`);
  }
  if (only?.element.name === criteriaName && only.ns === ns) {
    criteria = only.element;
  } else if (only?.element.name === "random" && only.ns === ns) {
    const max = optionalAttr(only.element, "max");
    if (max !== undefined) size ??= parseCount(max, "<random/> 'max'");
  } else if (only !== undefined) {
    throw new StanzaError("bad-request", `unexpected <${only.element.name}/> in <view/>`);
  }
  // A view costs notifications for as long as it is open: a size over the cap is refused rather
  // than quietly shrunk, so the client knows it will not see what it asked for.
  if (size !== undefined && size > limits.maxViewSize) {
    throw new StanzaError(
      "policy-violation",
      `a view holds at most ${limits.maxViewSize} items (size ${size} asked)`,
    );
  }
  return { viewId, size: size ?? limits.maxViewSize, criteria };
}
