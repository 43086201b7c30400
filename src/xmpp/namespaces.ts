/** Every standard namespace the daemon speaks (RFCs and XEPs), in one place. */

export const NS_COMPONENT = "jabber:component:accept";
export const NS_CLIENT = "jabber:client";
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** XEP-0030 Service Discovery. */
export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
/** XEP-0199 XMPP Ping. */
export const NS_PING = "urn:xmpp:ping";
/** XEP-0092 Software Version. */
export const NS_VERSION = "jabber:iq:version";
/** XEP-0115 Entity Capabilities. */
export const NS_CAPS = "http://jabber.org/protocol/caps";
/** XEP-0004 Data Forms. */
export const NS_DATA = "jabber:x:data";
/** XEP-0045 Multi-User Chat. */
export const NS_MUC = "http://jabber.org/protocol/muc";
export const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
export const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
export const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
/** XEP-0319 Last User Interaction in Presence. */
export const NS_IDLE = "urn:xmpp:idle:1";
/** XEP-0059 Result Set Management. */
export const NS_RSM = "http://jabber.org/protocol/rsm";
/** XEP-0079 Advanced Message Processing. */
export const NS_AMP = "http://jabber.org/protocol/amp";
/** XEP-0060 Publish-Subscribe, XEP-0163 PEP. */
export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event";
/** XEP-0172 User Nickname. */
export const NS_NICK = "http://jabber.org/protocol/nick";
/** XEP-0203 Delayed Delivery. */
export const NS_DELAY = "urn:xmpp:delay";
/** XEP-0050 Ad-Hoc Commands. */
export const NS_COMMANDS = "http://jabber.org/protocol/commands";

/** Concierge's own application-specific error conditions (RFC 6120 §8.3.4). */
export const NS_CONCIERGE_ERRORS = "urn:concierge:errors:0";
