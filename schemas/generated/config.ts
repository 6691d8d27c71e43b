/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

/**
 * One file (YAML or JSON, named by --config or PULSO_CONFIG) plus environment variables PULSO_<SECTION>__<KEY> (e.g. PULSO_INGEST__BATCH_SIZE=500) and NATS_URL. Every key has a default.
 */
export interface Config {
  nats: {
    /**
     * The NATS server, or the seed URLs of a cluster separated by commas (each node of a managed cluster listens on one of them).
     */
    url: string;
    /**
     * Credentials per role (see the README's Security section).
     */
    auth: {
      /**
       * How a client of this role authenticates: user and password, a token, an nkey seed file or a creds file (one of them). Unset: the role's nkey seed Pulso generated in services.dataDir, when there is one.
       */
      pipeline?: {
        user?: string;
        password?: string;
        token?: string;
        /**
         * A file holding the user's nkey seed (SU…).
         */
        seedFile?: string;
        /**
         * A .creds file (JWT and seed), as nsc writes it.
         */
        credsFile?: string;
      };
      /**
       * How a client of this role authenticates: user and password, a token, an nkey seed file or a creds file (one of them). Unset: the role's nkey seed Pulso generated in services.dataDir, when there is one.
       */
      publisher?: {
        user?: string;
        password?: string;
        token?: string;
        /**
         * A file holding the user's nkey seed (SU…).
         */
        seedFile?: string;
        /**
         * A .creds file (JWT and seed), as nsc writes it.
         */
        credsFile?: string;
      };
      /**
       * How a client of this role authenticates: user and password, a token, an nkey seed file or a creds file (one of them). Unset: the role's nkey seed Pulso generated in services.dataDir, when there is one.
       */
      reader?: {
        user?: string;
        password?: string;
        token?: string;
        /**
         * A file holding the user's nkey seed (SU…).
         */
        seedFile?: string;
        /**
         * A .creds file (JWT and seed), as nsc writes it.
         */
        credsFile?: string;
      };
      /**
       * How a client of this role authenticates: user and password, a token, an nkey seed file or a creds file (one of them). Unset: the role's nkey seed Pulso generated in services.dataDir, when there is one.
       */
      admin?: {
        user?: string;
        password?: string;
        token?: string;
        /**
         * A file holding the user's nkey seed (SU…).
         */
        seedFile?: string;
        /**
         * A .creds file (JWT and seed), as nsc writes it.
         */
        credsFile?: string;
      };
    };
    /**
     * TLS towards NATS: the CA that signed the server's certificate, and a client certificate when the server asks for one.
     */
    tls?: {
      caFile?: string;
      certFile?: string;
      keyFile?: string;
    };
    trackingStream: {
      name: string;
      /**
       * How long raw messages are kept for replay: the longest window plus a replay margin.
       */
      maxAgeDays: number;
      maxBytes: number;
      maxMessageBytes: number;
      duplicateWindowSeconds: number;
      replicas: number;
    };
    deadLetterStream: {
      name: string;
      maxAgeDays: number;
      maxBytes: number;
      replicas: number;
    };
    /**
     * Pulso reads the tracking stream with an ordered consumer that starts after the last checkpointed position; nothing is acknowledged, so nothing here depends on server-side consumer state.
     */
    consumer: {
      /**
       * Most messages fetched at once (one-event messages come this many at a time).
       */
      pullMessages: number;
      /**
       * Bytes a fetch aims at: the bound on what the server holds for Pulso and on messages in memory before processing. Keep it well under the server's max_pending (64 MB).
       */
      pullBytes: number;
    };
    /**
     * The stream that keeps the rules stage's outputs (cs.>) for downstream subscribers, de-duplicated by Nats-Msg-Id.
     */
    outputStream: {
      name: string;
      maxAgeDays: number;
      maxBytes: number;
      /**
       * How long JetStream remembers output ids. Restarts also skip what the stream already holds, so this is a second guard.
       */
      duplicateWindowSeconds: number;
      replicas: number;
      /**
       * The key the pipeline signs its outputs with (HMAC-SHA256), which the webhook deliverer and the restart check verify. Unset: <services.dataDir>/secrets/output-signing.key, generated on the first start. Workers of one deployment share it.
       */
      signingKeyFile?: string;
    };
    /**
     * Where partitions keep their state in NATS: a KV bucket <bucket>_partitions (who owns each partition, its position, the output tail) and an Object Store <bucket>_checkpoints (the checkpoints).
     */
    state: {
      bucket: string;
      replicas: number;
    };
  };
  /**
   * Clients are split into partitions by FNV-1a 32 of the client id, mod count (as NATS's partition() mapping). The count is fixed when the state bucket is created.
   */
  partitions: {
    count: number;
  };
  /**
   * Which partitions this process owns: those whose number mod count equals the ordinal (a StatefulSet pod's), or an explicit list.
   */
  worker: {
    ordinal: number;
    count: number;
    /**
     * Explicit partition numbers (instead of ordinal and count).
     *
     * @minItems 1
     */
    partitions?: number[];
    /**
     * The worker's name in ownership claims. Default: worker-<ordinal> on the host name.
     */
    id?: string;
  };
  questdb: {
    host: string;
    httpPort: number;
    pgPort: number;
    /**
     * The user Pulso writes and queries as (HTTP basic authentication and PG wire). Unset: the one Pulso generated for the QuestDB it manages, else QuestDB's default.
     */
    user?: string;
    password?: string;
    /**
     * QuestDB's built-in read-only PG user, for Grafana and analysts. Unset: the one Pulso generated.
     */
    readOnlyUser?: string;
    readOnlyPassword?: string;
    requestTimeoutMs: number;
    /**
     * Longest pause between two attempts to write a batch while QuestDB is unavailable.
     */
    retryMaxDelayMs: number;
  };
  /**
   * The HTTP gateway (`pulso gateway`, started by `pulso up`): Segment-, CustomerX- and Pulso-native tracking APIs in front of JetStream.
   */
  gateway: {
    /**
     * Start it with `pulso up`.
     */
    enabled: boolean;
    host: string;
    port: number;
    /**
     * The write keys, hashed (`pulso gateway keys create|revoke|list`). Default: <services.dataDir>/gateway/keys.json.
     */
    keysFile?: string;
    /**
     * Largest body of one call (Segment: 32 KB).
     */
    maxCallBytes: number;
    /**
     * Largest body of a batch (Segment: 500 KB).
     */
    maxBatchBytes: number;
    /**
     * Requests per second one write key may make; beyond, 429 with Retry-After.
     */
    ratePerKey: number;
    /**
     * How long a request waits for JetStream's acknowledgement before answering 503.
     */
    publishTimeoutMs: number;
    /**
     * How Segment calls become Pulso events (see the README's mapping table).
     */
    segment: {
      /**
       * The property (of a track/page/screen) or trait that names the client when context.groupId is absent.
       */
      clientProperty: string;
      /**
       * Template of a page/screen event's name; {name} is the page's name, slugged.
       */
      screenName: string;
      /**
       * Template of a track event's name; {event} is the event, slugged.
       */
      actionName: string;
      /**
       * Track events that are logins.
       */
      loginEvents: string[];
      /**
       * Track events that are metrics, and the numeric property that is the value.
       */
      metricEvents: {
        [k: string]: string | undefined;
      };
    };
  };
  ingest: {
    /**
     * Events that go through the operators together (a slice); also how many are folded before the NATS client is let read its socket.
     */
    batchSize: number;
    /**
     * How long a fetch waits for messages when fewer are available (at least 1000).
     */
    batchWaitMs: number;
    maxEventBytes: number;
    maxBatchEvents: number;
    /**
     * How far an event time may be ahead of the time JetStream stored it.
     */
    maxFutureSkewSeconds: number;
    /**
     * Also write every valid event to the events table. Figures never depend on it.
     */
    storeRawEvents: boolean;
    /**
     * How often figure rows changed by recent batches are written to QuestDB (rows touched repeatedly in that time are written once).
     */
    flushIntervalMs: number;
    /**
     * Deepest nesting of arrays and objects a message may have (a batch of events needs 3); deeper messages are refused as too_deep before they are parsed.
     */
    maxDepth: number;
    /**
     * Most bytes of a refused input a dead letter carries; beyond it, a prefix marked as truncated, with the size and SHA-256 of the whole (the original stays in the tracking stream).
     */
    deadLetterPayloadBytes: number;
    /**
     * Producer event ids are remembered for this long (JetStream arrival time), so an event published again with the same id counts once in every figure.
     */
    idempotency: {
      /**
       * How long an id is remembered after the event first arrived (at least the tracking stream's duplicate window).
       */
      horizonSeconds: number;
      /**
       * Most ids remembered at once: the memory bound (about 65 bytes each). When full, the oldest are forgotten early and the effective horizon, reported on /metrics, shrinks.
       */
      maxIds: number;
    };
  };
  /**
   * Bounds on the state, so that no producer can exhaust memory. Events beyond them are dead-lettered (client_limit, name_limit, user_limit); clients already known are unaffected.
   */
  limits: {
    /**
     * Clients the state holds (every client ever seen by an event or attribute update, kept in checkpoints).
     */
    maxClients: number;
    /**
     * Distinct event names one client may use.
     */
    maxNamesPerClient: number;
    /**
     * Distinct event names across all clients.
     */
    maxEventNames: number;
    /**
     * Distinct users one client may have.
     */
    maxUsersPerClient: number;
  };
  /**
   * Event-time windows of the usage figures.
   */
  windows: {
    /**
     * IANA zone whose calendar days make the windows, e.g. America/Sao_Paulo.
     */
    timeZone: string;
    /**
     * Rolling windows in days; each also gets its previous period.
     *
     * @minItems 1
     */
    days: number[];
    /**
     * How far behind the newest event time an event may arrive and still count. Under a day.
     */
    allowedLatenessSeconds: number;
    /**
     * Pairs of events to compare (A used N% more than B).
     */
    ratios: {
      id: string;
      a: string;
      b: string;
      windowDays: number;
      perUser: boolean;
    }[];
  };
  /**
   * The rules stage: playbooks, the health score, and what drives evaluation.
   */
  rules: {
    /**
     * Playbook files or directories (their *.yaml, *.yml, *.json). Relative paths are taken from the working directory, else from the Pulso installation.
     */
    playbooks: string[];
    /**
     * The health score model (schemas/health.schema.json).
     */
    health: string;
    /**
     * In live operation, every this many seconds a caught-up pipeline records the wall clock in the tracking stream (tracking.clock), so midnights pass and inactivity is caught even when no client sends anything. 0 turns it off (history replays, tests).
     */
    clockTickSeconds: number;
    webhooks: {
      /**
       * Deliver cs.webhook.> messages to their URLs.
       */
      enabled: boolean;
      timeoutMs: number;
      /**
       * Attempts before a call is given up and dead-lettered.
       */
      maxDeliveries: number;
      /**
       * Delay before each retry (the last one repeats).
       *
       * @minItems 1
       */
      backoffSeconds: number[];
      /**
       * Hosts (names or addresses) a webhook may reach although they resolve to a loopback, private, link-local or other non-public address.
       */
      allowHosts: string[];
      /**
       * Address ranges (CIDR, e.g. 10.20.0.0/16) a webhook may reach although they are not public.
       */
      allowCidrs: string[];
      /**
       * Allow plain http:// destinations (default: https only).
       */
      allowHttp: boolean;
      /**
       * Most bytes of a receiver's answer read (for the log); the rest is discarded.
       */
      maxResponseBytes: number;
    };
  };
  /**
   * Operator state saved with the stream position it reflects, so a restart resumes from there instead of replaying all history.
   */
  checkpoint: {
    /**
     * Time between checkpoints (taken only after QuestDB has accepted everything they cover).
     */
    intervalSeconds: number;
    /**
     * Where checkpoints are kept. Default: <services.dataDir>/state.
     */
    dir?: string;
    /**
     * nats: the Object Store of nats.state, where any worker can read them; file: checkpoint.dir on this machine.
     */
    store: 'nats' | 'file';
  };
  services: {
    /**
     * managed: `pulso up` starts nats-server on nats.url's port; external: use nats.url as it is.
     */
    nats: 'managed' | 'external';
    questdb: 'managed' | 'external';
    /**
     * Where managed services keep data and logs.
     */
    dataDir: string;
    /**
     * Where the QuestDB jar is cached. Default: $XDG_CACHE_HOME/pulso or ~/.cache/pulso.
     */
    cacheDir?: string;
    /**
     * May Pulso install missing system packages (nats-server, Java, Maven) with apt-get?
     */
    install: boolean;
    questdbVersion: string;
    questdbIlpPort: number;
    questdbHealthPort: number;
    questdbHeapMb: number;
    /**
     * The managed NATS's monitoring port; node i of a cluster uses this plus i.
     */
    natsMonitorPort: number;
    /**
     * The interface the managed NATS listens on.
     */
    natsBind: string;
    /**
     * The interface the managed QuestDB listens on (HTTP, PG wire, ILP, health).
     */
    questdbBind: string;
    /**
     * The first cluster (route) port of a managed NATS cluster; node i uses this plus i.
     */
    natsClusterPort: number;
  };
  log: {
    level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
    statsIntervalSeconds: number;
  };
  metrics: {
    /**
     * Port of /metrics (Prometheus), /healthz and /readyz; 0 turns them off.
     */
    port: number;
    /**
     * Address they listen on (0.0.0.0 for every interface, e.g. in a container).
     */
    host: string;
    /**
     * /readyz fails while more messages than this wait in the tracking stream.
     */
    readyMaxLagMessages: number;
    /**
     * /readyz fails when messages wait and none has been processed for this long.
     */
    stallSeconds: number;
  };
  demo: {
    clients: number;
    usersPerClient: number;
    historyDays: number;
    ratePerSecond: number;
    invalidRatio: number;
    seed: number;
    /**
     * How the demo's live events travel: straight to NATS (as the publisher role), or through the HTTP gateway's native API (with a write key it creates for the source demo).
     */
    via: 'nats' | 'gateway';
    /**
     * With the demo, and unless delivery.email is enabled: `pulso up` starts a catch-all SMTP server on delivery.email.smtp's host and port, keeping each e-mail the playbooks send as an .eml file in <services.dataDir>/mail, and turns e-mail delivery on.
     */
    mailCatcher: boolean;
    /**
     * With the demo, and unless delivery.notify is enabled: `pulso up` runs an HTTP receiver on 127.0.0.1 at this port, keeping every CSM notification as a JSON file in <services.dataDir>/notifications, and sends the notifications there (a json route for every CSM). 0: none.
     */
    receiverPort: number;
  };
  /**
   * Delivery of outputs to people: e-mails to clients over SMTP, notifications to CSMs in chat tools.
   */
  delivery: {
    /**
     * The deep link e-mails and notifications show for a client (Client 360); {client} is replaced by the client id (URL-encoded).
     */
    link: string;
    email: {
      /**
       * Send cs.email.> messages over SMTP (the worker owning partition 0 does). `pulso up` turns it on with the demo's catch-all server.
       */
      enabled: boolean;
      smtp: {
        host: string;
        port: number;
        /**
         * TLS from the first byte (port 465); otherwise STARTTLS when the server offers it.
         */
        secure: boolean;
        user?: string;
        /**
         * The environment variable holding the SMTP password.
         */
        passwordEnv?: string;
        timeoutMs: number;
      };
      /**
       * The sender, as an address or "Name <address>".
       */
      from: string;
      /**
       * The templates' language when the client has no `language` attribute.
       */
      language: 'pt' | 'en';
      /**
       * The folder of templates, <template>.<language>.hbs: a Subject: line, a blank line, the text (Handlebars).
       */
      templates: string;
      /**
       * Attempts before an e-mail is given up and dead-lettered.
       */
      maxDeliveries: number;
      /**
       * Delay before each retry (the last one repeats).
       *
       * @minItems 1
       */
      backoffSeconds: number[];
    };
    notify: {
      /**
       * Deliver cs.notify.> messages to the routes (the worker owning partition 0 does).
       */
      enabled: boolean;
      /**
       * Where a CSM's notifications go: every route whose csm is the client's CSM, or *, gets each one. The destination policy is rules.webhooks' (https to public addresses unless allowed there).
       *
       * @maxItems 1000
       */
      routes: {
        /**
         * The CSM (the client's csm attribute), or * for every one.
         */
        csm: string;
        /**
         * slack: a Slack incoming webhook; teams: a Microsoft Teams workflow webhook (an Adaptive Card); json: the notification as JSON, signed as Standard Webhooks when secretEnv is set.
         */
        kind: 'slack' | 'teams' | 'json';
        url?: string;
        /**
         * The environment variable holding the URL (chat webhook URLs are secrets).
         */
        urlEnv?: string;
        /**
         * json only: the variable holding the Standard Webhooks secret (whsec_…).
         */
        secretEnv?: string;
      }[];
      timeoutMs: number;
      /**
       * Attempts before a notification is given up and dead-lettered.
       */
      maxDeliveries: number;
      /**
       * Delay before each retry (the last one repeats).
       *
       * @minItems 1
       */
      backoffSeconds: number[];
    };
    digest: {
      /**
       * Send each CSM a daily digest (clients that turned yellow or red, new alerts, open and overdue tasks) to their delivery.notify.routes.
       */
      enabled: boolean;
      /**
       * Local time (windows.timeZone) the digest of the night's runs goes out, HH:MM.
       */
      at: string;
    };
  };
}
