import type { Element } from "@xmpp/xml";
import type { Inbound } from "../xmpp/stanza.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import type { ActivityIndex } from "./index.js";
import type { OlpcLimits } from "./limits.js";
import {
  findActivities,
  findBuddies,
  randomActivities,
  randomBuddies,
  type ActivityCriteria,
  type RandomSource,
} from "./match.js";
import type { Activity, Buddy } from "./model.js";
import type { Property } from "./properties.js";
import { bareBuddyResult, buddyElement, queryResult, viewResult } from "./replies.js";
import { parseIqRequest } from "./requests.js";
import type { CachedResult } from "./result-cache.js";
import { page } from "./rsm.js";
import type { Watch } from "./watchers.js";

export interface QueryContext {
  index: ActivityIndex;
  limits: OlpcLimits;
  random: RandomSource;
  /** The visible activities that may match these properties (all when none are given). */
  visibleActivities(properties?: readonly Property[]): Activity[];
  /** The visible activities a draft query selects, sorted (see findActivities). */
  matchingActivities(criteria: ActivityCriteria): CachedResult<Activity>;
  onlineBuddies(): Buddy[];
  /** The activity as a result lists it (activityElement with its participants' properties). */
  activityElement(activity: Activity): Element;
  /** Opens (or replaces) a result set or view for the querier. */
  open(watch: Watch): void;
}

/**
 * Answers every query and view request (draft and Gabble) and opens the result set or view that
 * later notifications follow. A draft result set holds every match, not only the page returned.
 */
export function answerQuery(context: QueryContext, request: Inbound): Element {
  const { limits, random } = context;
  const parsed = parseIqRequest(request.payload, limits);
  const device = request.device;
  const viewer = request.user;
  const base = { device, viewer, random: false, size: Number.POSITIVE_INFINITY };
  switch (parsed.kind) {
    case "activity-query": {
      const matches = context.matchingActivities(parsed.criteria);
      const result = page(matches.items, (a) => a.id, parsed.rsm);
      context.open({
        ...base,
        target: "activity",
        viewId: undefined,
        activityCriteria: parsed.criteria,
        items: matches.uids,
      });
      const items = result.items.map((a) => context.activityElement(a));
      return queryResult("activity", items, parsed.rsm.present ? result : undefined);
    }
    case "buddy-query": {
      const matches = findBuddies(context.onlineBuddies(), parsed.criteria);
      context.open({
        ...base,
        target: "buddy",
        viewId: undefined,
        buddyCriteria: parsed.criteria,
        items: new Set(matches.map((b) => b.jid)),
      });
      if (parsed.wrapper === "buddy") {
        const [found] = matches;
        if (!found) throw new StanzaError("item-not-found", "no such buddy online");
        return bareBuddyResult(found);
      }
      const result = page(matches, (b) => b.jid, parsed.rsm);
      const items = result.items.map((b) => buddyElement(b));
      return queryResult("buddy", items, parsed.rsm.present ? result : undefined);
    }
    case "activity-view": {
      const { viewId, size, criteria } = parsed;
      const all = context.visibleActivities(parsed.random ? undefined : criteria.properties);
      const chosen = parsed.random
        ? randomActivities(all, size, random)
        : findActivities(all, criteria).slice(0, size);
      context.open({
        ...base,
        target: "activity",
        viewId,
        size,
        random: parsed.random,
        activityCriteria: criteria,
        items: new Set(chosen.map((a) => a.id)),
      });
      return viewResult(
        "activity",
        chosen.map((a) => context.activityElement(a)),
      );
    }
    case "buddy-view": {
      const { viewId, size, criteria } = parsed;
      const all = context.onlineBuddies();
      const chosen = parsed.random
        ? randomBuddies(all, size, random)
        : findBuddies(all, criteria).slice(0, size);
      context.open({
        ...base,
        target: "buddy",
        viewId,
        size,
        random: parsed.random,
        buddyCriteria: criteria,
        items: new Set(chosen.map((b) => b.jid)),
      });
      return viewResult(
        "buddy",
        chosen.map((b) => buddyElement(b)),
      );
    }
  }
}
