-- Prosody 0.12 for docker-compose.yml: a small local server to try Concierge with.
-- Mounted read-only at /etc/prosody/prosody.cfg.lua in the prosodyim/prosody:0.12 container.
-- Domain localhost; clients on port 5222; Concierge connects as the component concierge.localhost;
-- MUC service conference.localhost. No TLS certificate: for local use only, not for production.
-- Create accounts with: docker compose exec prosody prosodyctl register alice localhost PASSWORD

-- The component secret comes from the environment (docker-compose.yml passes the same value to
-- Concierge as CONCIERGE_COMPONENT__SECRET). Refuse to start without it.
local concierge_secret = os.getenv("COMPONENT_SECRET")
if not concierge_secret or concierge_secret == "" then
	error("COMPONENT_SECRET is not set", 0)
end

---------- Global section ----------

admins = { } -- no server admins (admins would own every MUC room)

modules_enabled = {
	"roster"; -- contact lists
	"saslauth"; -- client authentication
	"disco"; -- service discovery: clients find concierge.localhost and conference.localhost
	"carbons"; -- copies of messages to all of an account's clients
	"pep"; -- personal eventing (avatars, bookmarks)
	"private"; -- private XML storage (older clients' bookmarks)
	"blocklist"; -- blocking other users
	"ping"; -- XMPP ping
	"time"; -- entity time
	"uptime"; -- server uptime
	"version"; -- software version
	-- No "tls": without a certificate Prosody would still offer STARTTLS, and the TLS handshake
	-- would fail. Add "tls" together with a certificate in /etc/prosody/certs.
	-- No "smacks" (XEP-0198): with it, @xmpp/client 0.14 (the room-pool bot's library) was
	-- seen to be disconnected ("Client acknowledged more stanzas than sent by server").
}
modules_disabled = { "s2s" } -- a local-only server: no server-to-server connections

c2s_ports = { 5222 } -- client connections (published on the host by docker-compose.yml)
c2s_interfaces = { "*" } -- all IPv4 interfaces of the container
component_ports = { 5347 } -- external components (XEP-0114): Concierge's component.port
component_interfaces = { "*" } -- all IPv4 interfaces of the container: Concierge connects over the compose network; not published

c2s_require_encryption = false -- no certificate here, so allow unencrypted client connections (local use only)
allow_unencrypted_plain_auth = true -- and password log-in over them

authentication = "internal_hashed" -- accounts stored by Prosody, passwords hashed
storage = "internal" -- files under /var/lib/prosody (the prosody-data volume)

log = { { levels = { min = "info" }, to = "console" } } -- to the container's output (docker compose logs prosody)

---------- Hosts ----------

VirtualHost "localhost" -- user accounts: alice@localhost, ...

Component "conference.localhost" "muc" -- MUC service for users and the room-pool bot (concierge-bot@localhost)
	restrict_room_creation = "local" -- accounts of localhost (and admins) may create rooms; component JIDs may not
	muc_room_default_persistent = false -- new rooms disappear when the last occupant leaves, unless configured persistent
	muc_room_default_public = false -- new rooms are not listed in the room list (disco#items)
	muc_tombstones = false -- no 31-day tombstone blocking the name of a destroyed persistent room

Component "concierge.localhost" -- Concierge: component.jid in docker/concierge.yaml
	component_secret = concierge_secret -- from COMPONENT_SECRET above
