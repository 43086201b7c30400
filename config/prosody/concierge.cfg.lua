-- Concierge on an existing Prosody 0.12: the external component (XEP-0114) and the MUC service
-- its room-pool bot will use.
--
-- Drop this file into /etc/prosody/conf.d/ (the packaged prosody.cfg.lua ends with
-- `Include "conf.d/*.cfg.lua"`; an included file starts in the global section). If you paste it
-- into prosody.cfg.lua instead, put the two global settings before the first VirtualHost or
-- Component line: settings after such a line belong to that host.
-- Check with `prosodyctl check config`, then restart Prosody (a reload does not open new ports).
-- (Concierge's test harness runs this very file, with its own names in place of example.org,
-- concierge.example.org, concierge-bot, the port and the secret: src/dev/prosody.ts.)

---------- Global section ----------

component_ports = { 5347 } -- port for component connections (Concierge's component.port; 5347 is Prosody's default)
component_interfaces = { "127.0.0.1" } -- listen on loopback only: Concierge runs on this machine (Concierge's component.host)

---------- The Concierge component ----------

Component "concierge.example.org" -- Concierge's component.jid; must not also be a VirtualHost
	component_secret = "placeholder-shared-secret" -- same value as Concierge's component.secret (CONCIERGE_COMPONENT__SECRET); keep this file unreadable to others
	-- Active/standby (Concierge's ha section): uncomment, so that a new connection replaces the old
	-- one and the new leader takes over from one that was paused or cut off (Prosody's default keeps
	-- the first connection and refuses the second). Without active/standby leave it: two Concierges
	-- started by mistake would then take turns replacing each other.
	-- component_conflict_resolve = "kick_old"

---------- MUC service for the room-pool bot ----------
-- The bot logs in as a normal account of example.org (e.g. concierge-bot@example.org). Skip this
-- block if conference.example.org is already defined elsewhere; add the settings to it instead.

Component "conference.example.org" "muc" -- Prosody's built-in MUC service
	restrict_room_creation = "local" -- only accounts of example.org (the parent domain) and admins may create rooms; component JIDs may not
	muc_room_default_persistent = false -- new rooms disappear when the last occupant leaves, unless configured persistent
	muc_room_default_public = false -- new rooms are not listed in the service's room list (disco#items)
	muc_tombstones = false -- destroying a persistent room does not leave a tombstone that blocks its name for 31 days
	-- Prosody 0.12 has no maxusers room option (the configuration form has no such field):
	-- limiting occupants needs a community module, e.g. mod_muc_max_occupants (one limit for all rooms).
	-- New rooms stay locked until their owner submits the configuration form (XEP-0045 status 201).

---------- NEERC task board rooms ----------
-- Each NEERC room (e.g. neerc@conference.example.org) must list the component JID as an owner,
-- so that Concierge may read its owner, admin and member lists. As the room's owner, send
--   <iq type="set" to="neerc@conference.example.org">
--     <query xmlns="http://jabber.org/protocol/muc#admin">
--       <item affiliation="owner" jid="concierge.example.org"/></query></iq>
-- (Prosody applies one <item/> per request.) Make the room persistent and members-only.

---------- Large answers from the component ----------
-- Prosody reads each connection 4096 bytes at a time by default, which paces large stanzas from
-- a component (a NEERC #tasks answer for a busy room is ~180 KB) at about 4 MB/s. Raise it in the
-- global section if rooms get big:
-- network_default_read_size = 65536

---------- Presence and the OLPC index ----------
-- Presence needs nothing more. The OLPC index learns buddies from their PEP nodes: keep "pep" in
-- modules_enabled (the packaged config has it). Prosody forwards a laptop's PEP events to
-- Concierge once the laptop and Concierge are subscribed to each other and Concierge's presence
-- (with entity capabilities) lists the nodes' +notify features, which Concierge does itself.
-- Activity rooms show real JIDs to occupants (whois = anyone) for the index to see who is in them.
