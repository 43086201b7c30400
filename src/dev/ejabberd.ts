import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmod,
  chown,
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { isMap, isScalar, isSeq, parseDocument, stringify, type YAMLMap } from "yaml";
import { freePort, portAccepts } from "./ports.js";
import type { Account, PrivateServer, ServerOptions } from "./server.js";
import { EJABBERD_SNIPPET, SNIPPET_NAMES, readSnippet } from "./snippets.js";

const EJABBERDCTL = "ejabberdctl";
const PACKAGED_CONFIG = "/etc/ejabberd";

export class EjabberdMissingError extends Error {
  constructor() {
    super("ejabberd is not installed: run `apt-get install -y ejabberd` (as root)");
    this.name = "EjabberdMissingError";
  }
}

export function ejabberdInstalled(): boolean {
  return spawnSync("sh", ["-c", `command -v ${EJABBERDCTL}`], { stdio: "ignore" }).status === 0;
}

/** An Erlang term for `evaluate`: strings become binaries (UTF-8). */
export type ErlangTerm =
  string | number | boolean | ErlangTerm[] | { atom: string } | { tuple: ErlangTerm[] };

/**
 * A private ejabberd for tests, benchmarks and the demo, started with the packaged `ejabberdctl`
 * on a configuration folder of its own (the reference's recipe for root: a copy of
 * ejabberdctl.cfg pointing at the folder, everything owned by the ejabberd user).
 *
 * - ejabberd.yml holds the test-only settings (virtual host, c2s listener, modules) and includes
 *   concierge.yml, the operators' snippet (config/ejabberd/concierge.yml) with this server's
 *   names, port and secrets, exactly as an operator would include it.
 * - Its Erlang node has a name of its own and listens for distribution on a loopback port of
 *   its own (ERL_DIST_PORT), so no epmd is started or needed.
 * - A small control node (an escript, our child) stays connected to it: accounts are created,
 *   and the server stopped, through it in milliseconds instead of one Erlang VM start per
 *   `ejabberdctl` command. If this process dies without stopping the server, the control
 *   node's stdin closes and it stops the server itself.
 */
export class PrivateEjabberd implements PrivateServer {
  readonly kind = "ejabberd";
  readonly domain: string;
  #mucDomain: string;
  #control: Control | undefined;

  private constructor(
    readonly dir: string,
    /** The Erlang node, e.g. concierge-3f9a0c@localhost. */
    readonly node: string,
    readonly c2sPort: number,
    readonly componentPort: number,
    /** The Erlang distribution port (loopback). */
    readonly distPort: number,
    readonly options: ServerOptions,
    private readonly ownsDir: boolean,
    private readonly user: SystemUser,
  ) {
    this.domain = options.domain ?? "localhost";
    this.#mucDomain = `conference.${this.domain}`;
  }

  static async start(options: ServerOptions = {}): Promise<PrivateEjabberd> {
    if (!ejabberdInstalled()) throw new EjabberdMissingError();
    const user = await ejabberdUser();
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "concierge-ejabberd-")));
    // A given folder is made here; its parents must let the ejabberd user through.
    await mkdir(dir, { recursive: true });
    await checkReachable(dir, user);
    const server = new PrivateEjabberd(
      dir,
      await nodeName(dir),
      options.c2sPort ?? (await freePort()),
      options.componentPort ?? (await freePort()),
      await freePort(),
      options,
      options.dir === undefined,
      user,
    );
    await server.#prepare();
    await server.#launch();
    try {
      await server.addAccounts(options.accounts ?? []);
    } catch (error) {
      await server.stop({ remove: false });
      throw error;
    }
    return server;
  }

  /** The snippet's MUC service (conference.<domain>). */
  get mucDomain(): string {
    return this.#mucDomain;
  }

  get configPath(): string {
    return join(this.dir, "ejabberd.yml");
  }

  /** The operators' snippet with this server's names, port and secrets; ejabberd.yml includes it. */
  get snippetPath(): string {
    return join(this.dir, "concierge.yml");
  }

  /** `ejabberdctl` for this server (e.g. `sh DIR/ejabberdctl.sh status`), for people debugging. */
  get ctlPath(): string {
    return join(this.dir, "ejabberdctl.sh");
  }

  get service(): string {
    return `xmpp://127.0.0.1:${this.c2sPort}`;
  }

  get #logPath(): string {
    return join(this.dir, "logs", "ejabberd.log");
  }

  /**
   * Registers the accounts in one call on the node (about 0.2-0.4 ms each); an account that
   * exists gets the given password.
   */
  async addAccounts(accounts: Account[]): Promise<void> {
    for (let at = 0; at < accounts.length; at += 2_000) {
      const batch = accounts.slice(at, at + 2_000);
      await this.evaluate(
        `lists:foreach(fun({U, P}) ->
           case ejabberd_auth:try_register(U, Host, P) of
             ok -> ok;
             {error, exists} -> ok = ejabberd_auth:set_password(U, Host, P);
             {error, Why} -> erlang:error({register, U, Why})
           end
         end, Accounts).`,
        {
          Host: this.domain,
          Accounts: batch.map(({ username, password }) => ({ tuple: [username, password] })),
        },
      );
    }
  }

  /**
   * Evaluates Erlang expressions on the server's node, e.g.
   * `mod_muc_admin:set_room_affiliation(Room, Service, Jid, <<"admin">>).` with bindings
   * `{ Room: "neerc", … }`. Resolves with the value as Erlang prints it; rejects on an exception.
   */
  async evaluate(source: string, bindings: Record<string, ErlangTerm> = {}): Promise<string> {
    if (!this.#control) throw new Error(`ejabberd ${this.node} is not running`);
    const terms = Object.entries(bindings).map(([name, value]) => {
      if (!/^[A-Z][A-Za-z0-9_]*$/.test(name)) throw new Error(`not an Erlang variable: ${name}`);
      return `{'${name}', ${erlangTerm(value)}}`;
    });
    return this.#control.request(`eval, ${erlangTerm(source)}, [${terms.join(", ")}]`);
  }

  async log(): Promise<string> {
    return readFile(this.#logPath, "utf8").catch(() => "");
  }

  /**
   * Stops ejabberd and its node through the control node (ejabberd's own shutdown, then Mnesia's,
   * then the VM halts), within seconds: whatever is left of the node is killed. The data stays
   * until stop({ remove }).
   */
  async stop({ remove = this.ownsDir }: { remove?: boolean } = {}): Promise<void> {
    await this.#halt();
    await this.#control?.close();
    this.#control = undefined;
    if (remove) await rm(this.dir, { recursive: true, force: true });
  }

  /** Stops and starts again on the same ports with the same data and configuration. */
  async restart(): Promise<void> {
    await this.#halt();
    await this.#launch();
  }

  /** Writes the folder: ejabberdctl's settings, both configuration files, the Mnesia spool. */
  async #prepare(): Promise<void> {
    const spool = join(this.dir, "db");
    await mkdir(spool, { recursive: true });
    await mkdir(join(this.dir, "logs"), { recursive: true });
    await copyFile(join(PACKAGED_CONFIG, "inetrc"), join(this.dir, "inetrc"));
    await writeFile(join(this.dir, "ejabberdctl.cfg"), await this.#ctlConfig());
    await writeFile(this.snippetPath, await this.#snippet());
    await writeFile(this.configPath, this.#config());
    await writeFile(
      this.ctlPath,
      `#!/bin/sh\n# ejabberdctl for the private ejabberd in this folder.\nexec ${EJABBERDCTL} ${this.#ctlArgs()
        .map(shellQuote)
        .join(" ")} "$@"\n`,
    );
    await chmod(this.ctlPath, 0o755);
    await restoreTranslations(spool);
    await ensureCookie(this.user);
    await chownTree(this.dir, this.user);
  }

  #ctlArgs(): string[] {
    return [
      "--config-dir",
      this.dir,
      "--logs",
      join(this.dir, "logs"),
      "--spool",
      join(this.dir, "db"),
      "--node",
      this.node,
    ];
  }

  /** The packaged ejabberdctl.cfg, pointed at this folder, with the node on its own port. */
  async #ctlConfig(): Promise<string> {
    const packaged = await readFile(join(PACKAGED_CONFIG, "ejabberdctl.cfg"), "utf8");
    const settings: Record<string, string> = {
      // The packaged file sets this to /etc/ejabberd/ejabberd.yml, which overrides --config.
      EJABBERD_CONFIG_PATH: this.configPath,
      EJABBERD_PID_PATH: join(this.dir, "ejabberd.pid"),
      // The node listens for distribution on this port, on loopback; no epmd.
      ERL_DIST_PORT: String(this.distPort),
      ERL_OPTIONS: '"-env ERL_CRASH_DUMP_BYTES 0 -kernel inet_dist_use_interface {127,0,0,1}"',
      CONTRIB_MODULES_PATH: join(this.dir, "contrib"),
      EJABBERD_BYPASS_WARNINGS: "true",
    };
    const kept = packaged
      .split("\n")
      .filter((line) => !Object.keys(settings).some((name) => line.startsWith(`${name}=`)));
    return [
      ...kept,
      "# Set for a private Concierge test/demo server (src/dev/ejabberd.ts):",
      ...Object.entries(settings).map(([name, value]) => `${name}=${value}`),
      "",
    ].join("\n");
  }

  /**
   * The shipped snippet with this server's names, its component listener on this server's
   * component port, the first component's password in place of the placeholder, and each
   * further component added to that listener's hosts. Throws if the snippet no longer has the
   * parts the harness fills in.
   */
  async #snippet(): Promise<string> {
    const [first, ...others] = components(this.options, this.domain);
    const text = await readSnippet(EJABBERD_SNIPPET, {
      domain: this.domain,
      component: first.jid,
      bot: this.options.bot ?? SNIPPET_NAMES.bot,
    });
    const fail: (what: string) => never = (what) => {
      throw new Error(`${EJABBERD_SNIPPET}: ${what}; the ejabberd harness cannot fill it in`);
    };
    const doc = parseDocument(text);
    if (doc.errors.length) fail(doc.errors.map(String).join("; "));
    const listen = doc.get("listen");
    const services = isSeq(listen)
      ? listen.items.filter((item) => isMap(item) && item.get("module") === "ejabberd_service")
      : [];
    if (services.length !== 1) fail("not exactly one ejabberd_service listener");
    const service = services[0] as YAMLMap;
    const port = service.get("port", true);
    if (!isScalar(port)) fail("no port for the component listener");
    port.value = this.componentPort;
    const hosts = service.get("hosts");
    const password = isMap(hosts) ? hosts.getIn([first.jid, "password"], true) : undefined;
    if (!isScalar(password) || password.value !== SNIPPET_NAMES.secret) {
      fail(`no hosts: ${first.jid}: password: "${SNIPPET_NAMES.secret}" in the component listener`);
    }
    password.value = first.secret;
    for (const { jid, secret } of others) {
      const key = doc.createNode(jid);
      key.commentBefore = " test-only: a further component on the same listener";
      (hosts as YAMLMap).items.push(doc.createPair(key, { password: secret }));
    }
    const mucHosts = doc.getIn(["modules", "mod_muc", "hosts"]);
    const muc = isSeq(mucHosts) ? mucHosts.items[0] : undefined;
    if (!isScalar(muc) || typeof muc.value !== "string") fail("no mod_muc hosts");
    this.#mucDomain = String(muc.value).replaceAll("@HOST@", this.domain);
    return (
      `# Generated from ${EJABBERD_SNIPPET} for a private test/demo server;\n` +
      `# rewritten at every start.\n\n${doc.toString({ lineWidth: 0 })}`
    );
  }

  /** The test-only settings; the snippet is included as an operator would include it. */
  #config(): string {
    const { admins = [] } = this.options;
    const config = {
      hosts: [this.domain],
      loglevel: process.env.EJABBERD_LOG_LEVEL ?? "info",
      log_rotate_count: 0,
      language: "en",
      // No certificates, no ACME, no server-to-server: a stanza for another domain bounces at once.
      acme: { auto: false },
      s2s_access: "none",
      auth_password_format: "plain",
      // As the packaged ejabberd.yml: SCRAM and PLAIN (which only raw test clients use).
      disable_sasl_mechanisms: ["digest-md5", "x-oauth2"],
      // Caches (accounts, rosters, caps) hold thousands of test users without evictions.
      cache_size: 100_000,
      listen: [
        {
          port: this.c2sPort,
          ip: "127.0.0.1",
          module: "ejabberd_c2s",
          // No TLS: plain authentication on loopback. No shaper, no stanza size worth a limit.
          starttls: false,
          shaper: "none",
          max_stanza_size: 64 * 1024 * 1024,
          // The default backlog of 5 drops connections when hundreds of clients log in at once.
          backlog: 4096,
          access: "c2s",
        },
      ],
      acl: {
        local: { user_regexp: "" },
        ...(admins.length ? { admin: { user: admins } } : {}),
      },
      access_rules: {
        local: { allow: "local" },
        c2s: { allow: "all" },
        pubsub_createnode: { allow: "local" },
      },
      // Only what Concierge and its tests use: every module adds to the start.
      modules: {
        mod_caps: {},
        mod_disco: {},
        mod_ping: {},
        // The "pep" plugin carries PEP; mod_caps lets it notify contacts with +notify features.
        mod_pubsub: { access_createnode: "pubsub_createnode", plugins: ["flat", "pep"] },
        mod_roster: {},
        // As the packaged ejabberd.yml has it: Concierge tells the server by its software version.
        mod_version: {},
        // `ejabberdctl` room commands (e.g. set_room_affiliation) for tests and operators.
        mod_muc_admin: {},
      },
      include_config_file: this.snippetPath,
    };
    return (
      "# Generated for a private Concierge test/demo server (src/dev/ejabberd.ts); rewritten\n" +
      "# at every start. The operators' snippet comes in through include_config_file.\n" +
      stringify(config)
    );
  }

  /**
   * Starts the node with ejabberdctl and waits until ejabberd has started. Its listeners bind
   * their ports early in its start but accept only at the end: an open port says nothing.
   */
  async #launch(): Promise<void> {
    this.#control ??= await Control.spawn(this.node, this.distPort, this.user.home, this.dir);
    const control = this.#control;
    let output = "";
    const fail = async (why: string): Promise<never> => {
      await this.#halt().catch(() => undefined);
      throw new Error(
        `ejabberd did not start (${this.configPath}): ${why}\n${output}\n${await this.log()}`,
      );
    };
    output = await run(EJABBERDCTL, [...this.#ctlArgs(), "start"], this.dir).catch((error: Error) =>
      fail(error.message),
    );
    // A configuration error halts the node at once: stop waiting then.
    let waiting = true;
    const exited = (async () => {
      for (let misses = 0; waiting && misses < 3; await delay(100)) {
        misses = (await nodeProcesses(this.node)).length > 0 ? 0 : misses + 1;
      }
    })();
    const up = control.request("up, 30000", 35_000);
    const first = await Promise.race([up.then(() => "up"), exited.then(() => "exited")]).catch(
      (error: Error) => error.message,
    );
    waiting = false;
    if (first !== "up") {
      up.catch(() => undefined);
      await fail(first === "exited" ? "its node exited" : first);
    }
    if (!(await portAccepts(this.c2sPort)) || !(await portAccepts(this.componentPort))) {
      await fail("it does not listen on its ports");
    }
    await saveTranslations(join(this.dir, "db"));
  }

  /** Stops the node cleanly through the control node, else kills what is left of it. */
  async #halt(): Promise<void> {
    if ((await nodeProcesses(this.node)).length === 0) return;
    await this.#control?.request("stop", 20_000).catch(() => undefined);
    if (await processesGone(this.node, 3_000)) return;
    for (const pid of await nodeProcesses(this.node)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    if (!(await processesGone(this.node, 3_000))) {
      throw new Error(`ejabberd node ${this.node} did not exit, even killed`);
    }
  }
}

/**
 * The control node: an escript connected to the server's node as a hidden node, talking to us
 * one line per request and per answer on its stdin and stdout.
 */
class Control {
  readonly #child: ChildProcess;
  readonly #pending = new Map<
    number,
    { resolve: (v: string) => void; reject: (e: Error) => void }
  >();
  #next = 1;
  #buffer = "";
  #stderr = "";
  #exited = false;
  #closing = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => this.#read(chunk));
    child.stderr!.on("data", (chunk: Buffer) => (this.#stderr += chunk.toString()));
    child.once("exit", (code, signal) => {
      this.#exited = true;
      const error = new Error(
        `the ejabberd control node exited (${signal ?? code ?? "?"}): ${this.#stderr}`,
      );
      for (const { reject } of this.#pending.values()) reject(error);
      this.#pending.clear();
    });
    this.#idle();
  }

  static async spawn(node: string, distPort: number, home: string, dir: string): Promise<Control> {
    const script = join(dir, "control.escript");
    await writeFile(script, CONTROL_ESCRIPT);
    const local = node.split("@")[0]!;
    const child = spawn("sh", ["-c", 'exec escript "$0" "$@"', script, node], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        // The cookie: the ejabberd user's, which the server's node uses too.
        HOME: home,
        ERL_FLAGS:
          `-sname ${local}-control@localhost -hidden -erl_epmd_port ${distPort}` +
          " -start_epmd false -dist_listen false",
      },
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group: a terminal's Ctrl-C does not kill it before it stops the server.
      detached: true,
    });
    return new Control(child);
  }

  /** Sends `{Id, <body>}.` and resolves with the printed value of `{ok, Value}`. */
  request(body: string, timeoutMs = 30_000): Promise<string> {
    if (this.#exited) return Promise.reject(new Error("the ejabberd control node has exited"));
    const id = this.#next++;
    this.#busy();
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the ejabberd control node did not answer ${body} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.#child.stdin!.write(`{${id}, ${body}}.\n`);
    }).finally(() => {
      if (this.#pending.size === 0 && !this.#closing) this.#idle();
    });
  }

  /** Asks it to exit, leaving the server as it is (stopped, normally). */
  async close(): Promise<void> {
    if (this.#exited) return;
    this.#closing = true;
    this.#busy();
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    await this.request("quit", 5_000).catch(() => this.#child.kill("SIGKILL"));
    await exited;
  }

  #read(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf("\n")) >= 0) {
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 1);
      const match = /^(\d+) \{(ok|error),(.*)\}$/s.exec(line);
      const waiter = match ? this.#pending.get(Number(match[1])) : undefined;
      if (!match || !waiter) continue;
      this.#pending.delete(Number(match[1]));
      if (match[2] === "ok") waiter.resolve(match[3]!);
      else waiter.reject(new Error(`ejabberd: ${match[3]}`));
    }
  }

  // While nothing is pending the child does not keep our event loop alive: a test that forgets
  // to stop its server still exits, and the control node then stops the server.
  #busy(): void {
    this.#child.ref();
    (this.#child.stdout as Socket).ref();
    (this.#child.stderr as Socket).ref();
  }

  #idle(): void {
    this.#child.unref();
    (this.#child.stdout as Socket).unref();
    (this.#child.stderr as Socket).unref();
    (this.#child.stdin as unknown as Socket).unref();
  }
}

/** Written next to the server as control.escript; run by `escript` (interpreted). */
const CONTROL_ESCRIPT = String.raw`%% -*- erlang -*-
%% The control node of a private ejabberd (written by src/dev/ejabberd.ts at every start).
%% One request per line on stdin, one answer per line on stdout, "Id {ok,Value}" or
%% "Id {error,Reason}":
%%   {Id, up, TimeoutMs}.            waits until ejabberd has started on the server's node
%%   {Id, eval, Source, Bindings}.   evaluates Erlang expressions on the server's node
%%   {Id, stop}.                     stops ejabberd and Mnesia cleanly, then halts the node
%%   {Id, quit}.                     exits, leaving the node as it is
%% When stdin closes (our owner exited without stopping the server), it stops the server.

main([NodeName]) ->
    Node = list_to_atom(NodeName),
    ok = io:setopts(standard_io, [binary]),
    loop(Node).

%% Each request runs in a process of its own (a stop is not held up by a wait for the start);
%% each answer is one io request, so answers do not interleave.
loop(Node) ->
    case io:get_line(standard_io, "") of
        Line when is_binary(Line) ->
            case parse(Line) of
                {ok, Id, {_, quit}} ->
                    answer(Id, {ok, quit}),
                    halt(0);
                {ok, Id, Request} ->
                    spawn(fun() -> answer(Id, run(Node, Request)) end);
                {error, Reason} ->
                    answer(0, {error, {bad_request, Reason}})
            end,
            loop(Node);
        _Eof ->
            catch stop(Node),
            halt(0)
    end.

parse(Line) ->
    try
        {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Line)),
        {ok, Request} = erl_parse:parse_term(Tokens),
        {ok, element(1, Request), Request}
    catch _:Reason -> {error, Reason}
    end.

run(Node, Request) ->
    try {ok, handle(Node, Request)}
    catch Class:Reason -> {error, {Class, Reason}}
    end.

answer(Id, Reply) ->
    io:format("~w ~ts~n", [Id, io_lib:print(Reply, 1, 16#FFFFFF, -1)]).

handle(Node, {_, up, TimeoutMs}) ->
    wait_started(Node, erlang:monotonic_time(millisecond) + TimeoutMs);
handle(Node, {_, eval, Source, Bindings}) ->
    {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Source)),
    {ok, Exprs} = erl_parse:parse_exprs(Tokens),
    Env = lists:foldl(fun({Name, Value}, Acc) -> erl_eval:add_binding(Name, Value, Acc) end,
                      erl_eval:new_bindings(), Bindings),
    case rpc:call(Node, erl_eval, exprs, [Exprs, Env]) of
        {value, Value, _} -> Value;
        {badrpc, Reason} -> erlang:error(Reason)
    end;
handle(Node, {_, stop}) ->
    stop(Node).

%% Started: the ejabberd application has returned from its start (ejabberdctl status's test),
%% which it does after its listeners began accepting.
wait_started(Node, Deadline) ->
    Started = net_kernel:connect_node(Node) andalso
        case rpc:call(Node, application, which_applications, [], 1000) of
            Apps when is_list(Apps) -> lists:keymember(ejabberd, 1, Apps);
            _ -> false
        end,
    case Started of
        true -> ok;
        false ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> erlang:error(timeout);
                false -> timer:sleep(20), wait_started(Node, Deadline)
            end
    end.

stop(Node) ->
    case net_kernel:connect_node(Node) of
        true ->
            erlang:monitor_node(Node, true),
            App = rpc:call(Node, application, stop, [ejabberd], 10000),
            Db = rpc:call(Node, mnesia, stop, [], 10000),
            rpc:call(Node, ejabberd_logger, flush, [], 5000),
            rpc:cast(Node, erlang, halt, [0]),
            receive {nodedown, Node} -> {App, Db}
            after 5000 -> erlang:error(still_up)
            end;
        _ ->
            not_running
    end.
`;

interface SystemUser {
  uid: number;
  gid: number;
  home: string;
}

async function ejabberdUser(): Promise<SystemUser> {
  const passwd = await readFile("/etc/passwd", "utf8");
  const fields = passwd
    .split("\n")
    .find((line) => line.startsWith("ejabberd:"))
    ?.split(":");
  if (!fields) throw new Error("no ejabberd user in /etc/passwd (is the package installed?)");
  const [, , uid, gid, , home] = fields;
  const user = { uid: Number(uid), gid: Number(gid), home: home! };
  const me = process.getuid?.();
  if (me !== 0 && me !== user.uid) {
    throw new Error("a private ejabberd needs root or the ejabberd user (ejabberdctl's rule)");
  }
  return user;
}

/** Fails clearly if the ejabberd user cannot get to `dir` (ejabberd would exit without a log). */
async function checkReachable(dir: string, user: SystemUser): Promise<void> {
  for (let parent = dirname(resolve(dir)); ; parent = dirname(parent)) {
    const { mode, uid, gid } = await stat(parent);
    const searchable =
      (mode & 0o001) !== 0 ||
      (uid === user.uid && (mode & 0o100) !== 0) ||
      (gid === user.gid && (mode & 0o010) !== 0);
    if (!searchable) {
      throw new Error(
        `the ejabberd user cannot reach ${dir}: ${parent} is not searchable by it ` +
          `(mode ${(mode & 0o777).toString(8)}); use a folder whose parents are`,
      );
    }
    if (parent === dirname(parent)) return;
  }
}

/** The node's name: made once per folder (Mnesia's data belongs to one node name). */
async function nodeName(dir: string): Promise<string> {
  const file = join(dir, "node");
  const saved = (await readFile(file, "utf8").catch(() => "")).trim();
  if (saved) return saved;
  const name = `concierge-${randomBytes(4).toString("hex")}@localhost`;
  await writeFile(file, `${name}\n`);
  return name;
}

/** The ejabberd user's Erlang cookie, made now if the package never ran (both nodes read it). */
async function ensureCookie(user: SystemUser): Promise<void> {
  const file = join(user.home, ".erlang.cookie");
  const letters = [...randomBytes(20)].map((byte) => String.fromCharCode(65 + (byte % 26)));
  try {
    await writeFile(file, letters.join(""), { flag: "wx", mode: 0o400 });
    await chown(file, user.uid, user.gid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

async function chownTree(path: string, user: SystemUser): Promise<void> {
  await chown(path, user.uid, user.gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, user);
    else await chown(child, user.uid, user.gid);
  }
}

// ejabberd builds a translation cache in its spool at the first start (about 0.3 s) and reuses
// it while it is newer than the translation files. New spools get a copy (same mtime, so the
// same rule still applies).
const TRANSLATIONS = join(tmpdir(), "concierge-ejabberd-translations.cache");

async function restoreTranslations(spool: string): Promise<void> {
  const target = join(spool, "translations.cache");
  if (await exists(target)) return;
  await cp(TRANSLATIONS, target, { preserveTimestamps: true }).catch(() => undefined);
}

async function saveTranslations(spool: string): Promise<void> {
  const source = join(spool, "translations.cache");
  if ((await exists(TRANSLATIONS)) || !(await exists(source))) return;
  const partial = `${TRANSLATIONS}.${process.pid}`;
  await cp(source, partial, { preserveTimestamps: true });
  await rename(partial, TRANSLATIONS);
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The processes (not zombies) whose command line names the node: its VM, any ejabberdctl. */
async function nodeProcesses(node: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0");
      if (!args.includes(node) || args.some((arg) => arg.endsWith("control.escript"))) continue;
      const state = (await readFile(`/proc/${entry}/stat`, "utf8")).split(") ")[1]?.[0];
      if (state !== "Z" && state !== "X") pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function processesGone(node: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await nodeProcesses(node)).length === 0) return true;
    if (Date.now() > deadline) return false;
    await delay(20);
  }
}

/** Runs a command to its end; resolves with its output, rejects if it fails. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output}`)),
    );
  });
}

function components(options: ServerOptions, domain: string) {
  const [first, ...others] = options.components ?? [];
  // With none, the snippet's own component, with a secret nobody knows.
  return [
    first ?? { jid: `concierge.${domain}`, secret: randomBytes(16).toString("hex") },
    ...others,
  ] as const;
}

/** An Erlang term in source form; strings are written as binaries of their UTF-8 bytes. */
function erlangTerm(value: ErlangTerm): string {
  if (typeof value === "string") return `<<${[...Buffer.from(value, "utf8")].join(",")}>>`;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`not an Erlang integer: ${value}`);
    return String(value);
  }
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(erlangTerm).join(",")}]`;
  if ("atom" in value) return `'${value.atom.replace(/[\\']/g, "\\$&")}'`;
  return `{${value.tuple.map(erlangTerm).join(",")}}`;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
