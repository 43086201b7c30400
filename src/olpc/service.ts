import type { Element } from "@xmpp/xml";
import type { OlpcOptions } from "../config.js";
import type { PresencePort } from "../presence/port.js";
import type { Service, ServiceContext } from "../service.js";
import type { BareJid } from "../xmpp/jid.js";
import type { MucRoom } from "../xmpp/muc.js";
import type { Router } from "../xmpp/router.js";
import type { Inbound } from "../xmpp/stanza.js";
import { answerQuery, type QueryContext } from "./handlers.js";
import { ActivityIndex, type IndexEvent } from "./index.js";
import { Inspector } from "./inspector.js";
import { DEFAULT_LIMITS, type OlpcLimits } from "./limits.js";
import type { Activity } from "./model.js";
import {
  GADGET_FEATURES,
  GADGET_IDENTITY,
  NS_ACTIVITY,
  NS_ACTIVITY_PROPS,
  NS_BUDDY,
  NS_BUDDY_PROPS,
  NS_CURRENT_ACTIVITY,
  NS_MUC_USER,
  NS_PUBSUB_EVENT,
  PEP_NODES,
  notifyFeature,
} from "./namespaces.js";
import type { World } from "./notices.js";
import { Notifier, relationKey } from "./notifier.js";
import { parseCurrentActivity } from "./pep.js";
import { findActivities, isPublicActivity } from "./match.js";
import { parseProperties, type Property } from "./properties.js";
import { activityElement, serializedOnce } from "./replies.js";
import { DerivedCache, ResultCache } from "./result-cache.js";
import { OlpcStore } from "./store.js";
import { ingestMessage, type UpdateParts } from "./updates.js";
import { Watchers } from "./watchers.js";

/**
 * The OLPC activity and buddy index ("Gadget"): the wiki draft's queries with RSM and result-set
 * notifications, and Telepathy Gabble's views, from the component JID. Data comes from PEP
 * (laptops that publish to us), from messages, and from the activity rooms we are invited into.
 */
export function olpcService(settings: OlpcOptions): Service {
  const limits: OlpcLimits = {
    ...DEFAULT_LIMITS,
    maxProperties: settings.maxProperties,
    maxValueBytes: settings.maxValueBytes,
    maxViewSize: settings.maxViewSize,
    maxPageSize: settings.maxPageSize,
  };
  let parts: OlpcParts | undefined;
  const installed = () => parts ?? assertInstalled();
  return {
    name: "olpc",

    install(context) {
      parts = buildParts(context, limits);
      const { router, presence, link } = context;
      router.identity({ ...GADGET_IDENTITY });
      router.feature(...GADGET_FEATURES, ...PEP_NODES.map(notifyFeature));
      routeQueries(router, parts);
      routeUpdates(router, parts);
      followPresence(presence, parts);
      link.on("online", () => rejoin(installed()));
    },

    async start() {
      const { loaded, index, notifier } = installed();
      await loaded;
      for (const activity of index.activities.values()) notifier.followRoom(activity, false);
    },

    async stop() {
      await installed().index.idle();
    },
  };
}

interface OlpcParts extends UpdateParts {
  notifier: Notifier;
  world: World;
  presence: PresencePort;
  /** The index read from Postgres (started at install, before the link can bring anything in). */
  loaded: Promise<void>;
  isLoaded: () => boolean;
  apply: (events: IndexEvent[]) => Promise<void>;
  logFailure: (what: string) => (error: unknown) => void;
}

function buildParts(context: ServiceContext, limits: OlpcLimits): OlpcParts {
  const { db, config, presence, muc, log } = context;
  const store = new OlpcStore(db);
  const index = new ActivityIndex(store);
  let isLoaded = false;
  // Changes queue behind the load; queries, greetings and room rejoins wait for it.
  const loaded = index.load().then(() => void (isLoaded = true));
  loaded.catch(() => undefined); // start() reports a failure
  const world: World = {
    visible: isPublicActivity,
    online: (jid) => presence.combined(jid as BareJid) !== "offline",
    buddyProperties: (jid) => index.buddies.get(jid)?.properties,
  };
  // Who sees whose presence: a watcher sees the buddies it watches and activities' members.
  const watchers = new Watchers({
    linked: (watch, item) =>
      presence.addViewer(
        relationKey(watch.target, item),
        watch.viewer as BareJid,
        (watch.target === "buddy"
          ? [item]
          : (index.activities.get(item)?.participants ?? [])) as BareJid[],
      ),
    unlinked: (watch, item) =>
      presence.removeViewer(relationKey(watch.target, item), watch.viewer as BareJid),
  });
  const logFailure = (what: string) => (error: unknown) =>
    log.warn({ err: (error as Error).message }, `could not ${what}`);
  // The inspector calls back once in a room, long after these parts are built.
  const inspector = new Inspector(muc, (room) => followActivityRoom(room, parts), log);
  const notifier = new Notifier({
    componentJid: config.component.jid,
    ...{ index, watchers, world, presence, inspector, store, log },
  });
  const parts: OlpcParts = {
    ...{ index, watchers, inspector, store, limits, notifier, world, presence },
    loaded,
    logFailure,
    isLoaded: () => isLoaded,
    apply: (events) => notifier.apply(events),
  };
  return parts;
}

/** Distinct draft activity queries whose results are kept until an activity changes. */
const RESULTS_CACHED = 64;

function routeQueries(router: Router, parts: OlpcParts): void {
  const { index, limits, world, watchers, loaded, isLoaded } = parts;
  const visibleActivities = (properties?: readonly Property[]) =>
    [...index.candidates(properties)].filter((a) => world.visible(a));
  const activityResults = new ResultCache<Activity>(RESULTS_CACHED);
  // Shared by every reply that lists the activity: built once, never changed after.
  const activityElements = new DerivedCache<Activity, Element>();
  const queries: QueryContext = {
    index,
    limits,
    random: Math.random,
    visibleActivities,
    matchingActivities: (criteria) =>
      activityResults.get(
        JSON.stringify(criteria),
        index.activitiesVersion,
        () => findActivities(visibleActivities(criteria.properties), criteria),
        (activity) => activity.id,
      ),
    onlineBuddies: () => [...index.buddies.values()].filter((b) => world.online(b.jid)),
    activityElement: (activity) =>
      activityElements.get(activity, index.buddiesVersion, (a) =>
        serializedOnce(activityElement(a, world.buddyProperties)),
      ),
    open: (watch) => void watchers.open(watch),
  };
  // Once the index is read, answers stay synchronous (in order with the stanzas after them).
  const query = (request: Inbound) =>
    isLoaded() ? answerQuery(queries, request) : loaded.then(() => answerQuery(queries, request));
  router.iq("get", NS_ACTIVITY, "query", query);
  router.iq("get", NS_ACTIVITY, "view", query);
  router.iq("get", NS_BUDDY, "query", query);
  router.iq("get", NS_BUDDY, "buddy", query);
  router.iq("get", NS_BUDDY, "view", query);
}

function routeUpdates(router: Router, parts: OlpcParts): void {
  const { index, limits, apply } = parts;
  // Direct updates from a laptop that does not publish through PEP.
  const setBuddyProperties = async (request: Inbound) => {
    const properties = parseProperties(request.payload, limits);
    await apply(await index.updateBuddy(request.user, { properties }));
  };
  router.iq("set", NS_BUDDY_PROPS, "properties", setBuddyProperties);
  router.message(NS_BUDDY_PROPS, setBuddyProperties);
  router.iq("set", NS_CURRENT_ACTIVITY, "activity", async (request) => {
    const currentActivity = parseCurrentActivity(request.payload, limits) ?? null;
    await apply(await index.updateBuddy(request.user, { currentActivity }));
  });
  for (const ns of [NS_ACTIVITY, NS_BUDDY, NS_ACTIVITY_PROPS, NS_PUBSUB_EVENT, NS_MUC_USER]) {
    router.message(ns, (inbound) => ingestMessage(parts, inbound, apply));
  }
}

function followPresence(presence: PresencePort, parts: OlpcParts): void {
  const { index, watchers, notifier, store, apply, logFailure } = parts;
  presence.onDeviceGone((_user, device) => watchers.dropDevice(device));
  presence.onChange(({ user, current, previous }) => {
    if ((current === "offline") === (previous === "offline")) return;
    notifier.presenceChanged(user);
    if (current === "offline") {
      index.leaveAll(user).then(apply).catch(logFailure("apply a departure"));
    }
  });
  presence.onContact((user, subscribed) => {
    if (!subscribed) index.removeBuddy(user).then(apply).catch(logFailure("unpublish"));
  });
  presence.recordCalls((room, active) => store.setInCall(room, active));
}

/** Connected (again): the component greets the buddies it knows and rejoins activity rooms. */
function rejoin(parts: OlpcParts): void {
  const { loaded, index, store, inspector, presence, logFailure } = parts;
  loaded
    .then(() => presence.greet(index.buddies.keys() as Iterable<BareJid>))
    .then(() => store.rooms())
    .then((rooms) => rooms.forEach((room) => inspector.join(room as BareJid)))
    .catch(logFailure("greet buddies and rejoin activity rooms"));
}

/** An activity room we are in: its occupants are devices online and the activity's members. */
function followActivityRoom(room: MucRoom, parts: OlpcParts): void {
  const { index, inspector, presence, apply, logFailure } = parts;
  presence.followRoom(room);
  room.on("presence", () => {
    const activity = index.activityByRoom(room.jid);
    // Only a room that shows real JIDs says who is in it (else the laptops' own word counts).
    if (!activity || !inspector.tracks(room.jid)) return;
    index
      .setParticipants(activity.id, inspector.participants(room.jid))
      .then(apply)
      .catch(logFailure("follow an activity room"));
  });
}

function assertInstalled(): never {
  throw new Error("the olpc service was not installed");
}
