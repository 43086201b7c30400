import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import type { OlpcOptions } from "../config.js";
import type { PresencePort } from "../presence/port.js";
import type { Service, ServiceContext } from "../service.js";
import type { BareJid } from "../xmpp/jid.js";
import type { MucRoom } from "../xmpp/muc.js";
import type { Inbound } from "../xmpp/stanza.js";
import { answerQuery } from "./handlers.js";
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
import { plan, planPresence, type Notice, type World } from "./notices.js";
import { parseCurrentActivity } from "./pep.js";
import { findProperty, parseProperties } from "./properties.js";
import { noticeMessage } from "./replies.js";
import { parseMessage, type InboundItem } from "./ingest.js";
import { OlpcStore } from "./store.js";
import { Watchers, type Watch } from "./watchers.js";

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
  let store: OlpcStore;
  let index: ActivityIndex;
  /** The index read from Postgres (started at install, before the link can bring anything in). */
  let loaded: Promise<void>;
  let isLoaded = false;
  let inspector: Inspector;
  let hub: PresencePort;
  let log: Logger;
  let componentJid: string;

  const world: World = {
    visible: (activity) => !isPrivate(activity),
    online: (jid) => hub.combined(jid as BareJid) !== "offline",
    buddyProperties: (jid) => index.buddies.get(jid)?.properties,
  };

  function send(notices: Notice[]): void {
    for (const { device, payload } of notices) {
      hub.toDevice(device, (to) => noticeMessage(componentJid, to, payload));
    }
  }

  /** Who sees whose presence: a watcher sees the buddies it watches and activities' members. */
  const relationKey = (target: Watch["target"], item: string) => `olpc ${target} ${item}`;
  const watchers = new Watchers({
    linked: (watch, item) =>
      hub.addViewer(
        relationKey(watch.target, item),
        watch.viewer as BareJid,
        (watch.target === "buddy"
          ? [item]
          : (index.activities.get(item)?.participants ?? [])) as BareJid[],
      ),
    unlinked: (watch, item) =>
      hub.removeViewer(relationKey(watch.target, item), watch.viewer as BareJid),
  });

  async function apply(events: IndexEvent[]): Promise<void> {
    for (const event of events) {
      send(plan(event, watchers, world));
      if (event.kind === "joined" || event.kind === "left") {
        hub.setTargets(
          relationKey("activity", event.activity.id),
          event.activity.participants as BareJid[],
        );
      }
      if (event.kind !== "buddy-changed" && event.kind !== "buddy-removed") {
        followRoom(event.activity, event.kind === "activity-closed");
      }
    }
    // A change may lead to more: an activity whose room we are in takes its occupants.
    for (const event of events) {
      if (event.kind !== "activity-added") continue;
      const room = event.activity.room as BareJid;
      if (!inspector.tracks(room)) continue;
      await apply(await index.setParticipants(event.activity.id, inspector.participants(room)));
    }
  }

  /** An activity's room is a presence group (its members see each other, may keep a call). */
  function followRoom(activity: Activity, closed: boolean): void {
    const room = activity.room as BareJid;
    const key = room || `olpc activity ${activity.id}`;
    if (closed) {
      hub.forgetGroup(key);
      if (inspector.has(room)) {
        inspector.leave(room);
        void store.removeRoom(room).catch(logFailure("forget the room"));
      }
    } else hub.setGroup(key, activity.participants as BareJid[]);
  }

  async function onMessage(inbound: Inbound): Promise<void> {
    // PEP events and invitations come from bare JIDs (an account, a room): no device there.
    const device = inbound.from.full;
    const user = inbound.user;
    const single = xml("message", { ...inbound.stanza.attrs }, inbound.payload);
    for (const item of parseMessage(single, limits)) {
      await apply(await ingest(item, user, device, inbound.stanza));
    }
  }

  async function ingest(
    item: InboundItem,
    user: string,
    device: string,
    stanza: Element,
  ): Promise<IndexEvent[]> {
    switch (item.kind) {
      case "close": {
        watchers.close(device, item.target, item.viewId);
        return [];
      }
      case "activity-properties": {
        const { id, room, properties } = item.update;
        const from = stanza.attrs.type === "groupchat" ? undefined : user;
        return index.setActivityProperties({ id, room }, properties, from);
      }
      case "draft-membership": {
        const ref = {
          ...(item.activity !== undefined ? { id: item.activity } : {}),
          ...(item.room !== undefined ? { room: item.room } : {}),
        };
        return item.change === "joined" ? index.join(ref, user) : index.leave(ref, user);
      }
      case "pep":
        return ingestPep(item.update, user);
      case "muc-invite": {
        const password = stanza.getChild("x", NS_MUC_USER)?.getChildText("password") ?? undefined;
        inspector.join(item.invite.room as BareJid, password);
        await store.addRoom(item.invite.room, item.invite.inviter ?? user);
        return [];
      }
      case "uninvite":
        return [];
    }
  }

  async function ingestPep(
    update: Extract<InboundItem, { kind: "pep" }>["update"],
    user: string,
  ): Promise<IndexEvent[]> {
    switch (update.kind) {
      case "buddy-properties":
        return index.updateBuddy(user, { properties: update.properties });
      case "current-activity":
        return index.updateBuddy(user, { currentActivity: update.currentActivity ?? null });
      case "nick":
        return update.nick === undefined ? [] : index.updateBuddy(user, { alias: update.nick });
      case "activities": {
        const events: IndexEvent[] = [];
        for (const ref of update.activities) events.push(...(await index.join(ref, user)));
        return events;
      }
      case "activity-properties": {
        const events: IndexEvent[] = [];
        for (const { id, room, properties } of update.activities) {
          events.push(...(await index.setActivityProperties({ id, room }, properties, user)));
        }
        return events;
      }
    }
  }

  /** An activity room we are in: its occupants are devices online and the activity's members. */
  function follow(room: MucRoom): void {
    hub.followRoom(room);
    room.on("presence", () => {
      const activity = index.activityByRoom(room.jid);
      // Only a room that shows real JIDs says who is in it (else the laptops' own word counts).
      if (!activity || !inspector.tracks(room.jid)) return;
      void index
        .setParticipants(activity.id, inspector.participants(room.jid))
        .then(apply)
        .catch(logFailure("follow an activity room"));
    });
  }

  const logFailure = (what: string) => (error: unknown) =>
    log.warn({ err: (error as Error).message }, `could not ${what}`);

  return {
    name: "olpc",

    install(context: ServiceContext) {
      const { router, db, link, config, presence, muc } = context;
      log = context.log;
      hub = presence;
      componentJid = config.component.jid;
      store = new OlpcStore(db);
      index = new ActivityIndex(store);
      // Changes queue behind the load; queries, greetings and room rejoins wait for it.
      loaded = index.load().then(() => void (isLoaded = true));
      loaded.catch(() => undefined); // start() reports a failure
      inspector = new Inspector(muc, follow, log);

      router.identity({ ...GADGET_IDENTITY });
      router.feature(...GADGET_FEATURES, ...PEP_NODES.map(notifyFeature));

      const answer = (request: Inbound) =>
        answerQuery(
          {
            index,
            limits,
            random: Math.random,
            visibleActivities: (properties) =>
              [...index.candidates(properties)].filter((a) => world.visible(a)),
            onlineBuddies: () => [...index.buddies.values()].filter((b) => world.online(b.jid)),
            buddyProperties: (jid) => world.buddyProperties(jid),
            open: (watch) => void watchers.open(watch),
          },
          request,
        );
      // Once the index is read, answers stay synchronous (in order with the stanzas after them).
      const query = (request: Inbound) =>
        isLoaded ? answer(request) : loaded.then(() => answer(request));
      router.iq("get", NS_ACTIVITY, "query", query);
      router.iq("get", NS_ACTIVITY, "view", query);
      router.iq("get", NS_BUDDY, "query", query);
      router.iq("get", NS_BUDDY, "buddy", query);
      router.iq("get", NS_BUDDY, "view", query);

      // Direct updates from a laptop that does not publish through PEP.
      router.iq("set", NS_BUDDY_PROPS, "properties", async (request) => {
        const user = request.user;
        const properties = parseProperties(request.payload, limits);
        await apply(await index.updateBuddy(user, { properties }));
      });
      router.iq("set", NS_CURRENT_ACTIVITY, "activity", async (request) => {
        const user = request.user;
        const currentActivity = parseCurrentActivity(request.payload, limits) ?? null;
        await apply(await index.updateBuddy(user, { currentActivity }));
      });
      router.message(NS_BUDDY_PROPS, async (inbound) => {
        const user = inbound.user;
        const properties = parseProperties(inbound.payload, limits);
        await apply(await index.updateBuddy(user, { properties }));
      });
      for (const ns of [NS_ACTIVITY, NS_BUDDY, NS_ACTIVITY_PROPS, NS_PUBSUB_EVENT, NS_MUC_USER]) {
        router.message(ns, onMessage);
      }

      hub.onDeviceGone((_user, device) => watchers.dropDevice(device));
      hub.onChange(({ user, current, previous }) => {
        if ((current === "offline") === (previous === "offline")) return;
        send(planPresence(index.buddies.get(user), user, watchers, world));
        if (current === "offline") {
          void index.leaveAll(user).then(apply).catch(logFailure("apply a departure"));
        }
      });
      hub.onContact((user, subscribed) => {
        if (!subscribed) void index.removeBuddy(user).then(apply).catch(logFailure("unpublish"));
      });
      presence.recordCalls((room, active) => store.setInCall(room, active));

      link.on("online", () => {
        void loaded
          .then(() => hub.greet(index.buddies.keys() as Iterable<BareJid>))
          .then(() => store.rooms())
          .then((rooms) => rooms.forEach((room) => inspector.join(room as BareJid)))
          .catch(logFailure("greet buddies and rejoin activity rooms"));
      });
    },

    async start() {
      await loaded;
      for (const activity of index.activities.values()) followRoom(activity, false);
    },

    async stop() {
      await index.idle();
    },
  };
}

/** Hidden from queries and views: an activity whose bool `private` property is true. */
function isPrivate(activity: Activity): boolean {
  const flag = findProperty(activity.properties, "private");
  return flag?.type === "bool" && flag.value === "1";
}
