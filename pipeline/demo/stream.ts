/**
 * A realistic, deterministic demo stream (seeded): clients that are healthy, declining,
 * inactive or cancelled, several users each, the seeds' screens, actions and metrics, and
 * now and then an invalid message. Pure: it makes messages, it does not send them.
 */
export type Profile = 'healthy' | 'declining' | 'inactive' | 'cancelled';

export interface DemoClient {
  clientId: string;
  profile: Profile;
  users: string[];
  update: Record<string, unknown>;
}

const SCREENS = [
  'tela:pedidos',
  'tela:faturamento',
  'tela:criar_produto',
  'tela:relatorios',
  'tela:dashboard',
  'tela:clientes',
];
const ACTIONS = [
  'acao:emitir_relatorio',
  'acao:criar_produto',
  'acao:enviar_pedido',
  'acao:emitir_nota',
];
const METRICS = ['metrica:volume_vendas', 'metrica:pedidos_emitidos'];
const PLANS = ['starter', 'pro', 'enterprise'];
const SEGMENTS = ['smb', 'mid-market', 'enterprise'];
const CSMS = [
  'carla@pulso.example',
  'diego@pulso.example',
  'elisa@pulso.example',
  'fabio@pulso.example',
];
const DAY = 86_400_000;

/** mulberry32: small, fast, good enough for demo data, and reproducible from a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

export function demoClients(
  n: number,
  usersPerClient: number,
  seed: number,
  at: number,
): DemoClient[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const x = r();
    const profile: Profile =
      x < 0.6 ? 'healthy' : x < 0.8 ? 'declining' : x < 0.93 ? 'inactive' : 'cancelled';
    const clientId = `cliente-${String(i + 1).padStart(4, '0')}`;
    const users = Array.from(
      { length: 1 + Math.floor(r() * usersPerClient) },
      (_, u) => `user${u + 1}@${clientId}.example`,
    );
    const segment = pick(r, SEGMENTS);
    return {
      clientId,
      profile,
      users,
      update: {
        id: `demo-attr-${clientId}`,
        client_id: clientId,
        timestamp: at,
        status: profile === 'cancelled' ? 'cancelled' : r() < 0.1 ? 'trial' : 'active',
        name: `Cliente ${i + 1} Ltda`,
        plan: pick(r, PLANS),
        segment,
        csm: pick(r, CSMS),
        mrr: Math.round(
          (segment === 'enterprise' ? 8000 : segment === 'mid-market' ? 2500 : 600) * (0.5 + r()),
        ),
        attributes: {
          sector: pick(r, ['varejo', 'industria', 'servicos', 'financas']),
          seats: users.length * 2,
          // Where the playbooks' e-mails go, and in which language (every fifth in English).
          email: `contato@${clientId}.example`,
          language: i % 5 === 4 ? 'en' : 'pt',
          // The financial dimension of the four-dimension health model (deploy/health-4d.yaml).
          ...financialOf(profile, i),
        },
      },
    };
  });
}

/** Billing figures by profile, varied by the client's number (no draw: the stream stays as it was). */
function financialOf(p: Profile, i: number): Record<string, number> {
  const spread = (i * 37) % 100; // 0–99, well mixed
  return {
    dias_em_atraso:
      p === 'healthy'
        ? spread < 90
          ? 0
          : 5
        : p === 'declining'
          ? spread % 25
          : 10 + (spread % 50),
    variacao_mrr:
      p === 'healthy' ? spread % 15 : p === 'declining' ? -(spread % 20) : -20 - (spread % 30),
    dias_para_renovacao: 10 + ((i * 53) % 300),
  };
}

/**
 * A day's survey answers and support tickets of a client: NPS (0–10) and CSAT (1–5)
 * answers, critical tickets and their resolution time, by profile — the sentiment and
 * support dimensions of deploy/health-4d.yaml.
 */
function careEvents(r: () => number, c: DemoClient, dayStart: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const at = () => Math.floor(dayStart + r() * DAY);
  const metric = (name: string, value: number) => ({
    id: `demo-${c.clientId}-${name}-${dayStart}-${out.length}`,
    client_id: c.clientId,
    kind: 'metric',
    name,
    value,
    timestamp: at(),
  });
  const [nps, csat, ticket, hours] =
    c.profile === 'healthy'
      ? [[7, 10], [4, 5], 0.02, [2, 20]]
      : c.profile === 'declining'
        ? [[3, 8], [2, 4], 0.12, [20, 90]]
        : [[0, 6], [1, 3], 0.2, [30, 120]];
  const within = ([lo, hi]: number[]) => lo! + Math.floor(r() * (hi! - lo! + 1));
  if (r() < 0.12) out.push(metric('nps', within(nps as number[])));
  if (r() < 0.1) out.push(metric('csat', within(csat as number[])));
  if (r() < (ticket as number)) {
    out.push({
      id: `demo-${c.clientId}-ticket-${dayStart}`,
      client_id: c.clientId,
      kind: 'action',
      name: 'ticket:critico',
      timestamp: at(),
    });
    out.push(metric('ticket:horas_resolucao', within(hours as number[])));
  }
  return out;
}

/** Relative activity of a client on a day `daysAgo` before now (0 = today). */
function intensity(c: DemoClient, daysAgo: number): number {
  switch (c.profile) {
    case 'healthy':
      return 1;
    case 'declining':
      return Math.min(1, daysAgo / 20); // fading towards today
    case 'inactive':
      return daysAgo > 12 ? 0.6 : 0; // went silent 12 days ago
    case 'cancelled':
      return daysAgo > 25 ? 0.3 : 0;
  }
}

export function demoEvent(
  r: () => number,
  c: DemoClient,
  ts: number,
  seq: number,
): Record<string, unknown> {
  const user = pick(r, c.users);
  const x = r();
  const base = {
    id: `demo-${c.clientId}-${ts}-${seq}`,
    client_id: c.clientId,
    user_id: user,
    timestamp: ts,
  };
  if (x < 0.15) return { ...base, kind: 'login' };
  if (x < 0.7) {
    // Pedidos far more than faturamento: the seeds' imbalance playbook has something to find.
    const screen = r() < 0.35 ? 'tela:pedidos' : pick(r, SCREENS);
    return { ...base, kind: 'screen', name: screen };
  }
  if (x < 0.93) return { ...base, kind: 'action', name: pick(r, ACTIONS) };
  const name = pick(r, METRICS);
  return {
    ...base,
    kind: 'metric',
    name,
    value: name === 'metrica:volume_vendas' ? Math.round(r() * 500000) / 100 : Math.floor(r() * 40),
  };
}

/** A day's worth of events for every client, `daysAgo` days before `now`. */
export function demoDay(
  clients: DemoClient[],
  now: number,
  daysAgo: number,
  seed: number,
  eventsPerActiveClient = 12,
): Record<string, unknown>[] {
  const r = rng(seed * 1000 + daysAgo);
  const dayStart = now - (daysAgo + 1) * DAY;
  const out: Record<string, unknown>[] = [];
  // Survey answers and tickets from a draw of their own: the usage events stay as they were.
  const care = rng(seed * 7919 + daysAgo);
  for (const c of clients) {
    const n = Math.round(eventsPerActiveClient * intensity(c, daysAgo) * (0.5 + r()));
    for (let i = 0; i < n; i++) out.push(demoEvent(r, c, Math.floor(dayStart + r() * DAY), i));
    if (intensity(c, daysAgo) > 0) out.push(...careEvents(care, c, dayStart));
  }
  return out.sort((a, b) => (a.timestamp as number) - (b.timestamp as number));
}

/** Invalid inputs of the kinds producers really send. */
export function demoInvalid(r: () => number, now: number): string {
  const c = `cliente-${String(1 + Math.floor(r() * 50)).padStart(4, '0')}`;
  return pick(r, [
    `{"kind":"screen","name":"tela:pedidos","client_id":"${c}"`,
    JSON.stringify({ kind: 'click', client_id: c }),
    JSON.stringify({ kind: 'screen', name: 'tela:pedidos' }),
    JSON.stringify({ kind: 'login', client_id: c, timestamp: Math.floor(now / 1000) }),
    JSON.stringify({ kind: 'metric', name: 'metrica:volume_vendas', client_id: c, value: 'muito' }),
    JSON.stringify({ kind: 'login', client_id: c, timestamp: '2031-01-01T00:00:00Z' }),
  ]);
}

export function isActive(c: DemoClient): boolean {
  return c.profile === 'healthy' || c.profile === 'declining';
}
