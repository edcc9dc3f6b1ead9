// Renders a benchmark report (results/latest.json's shape) as a terminal table and as Markdown.
const NAMES = {
  raw: 'raw TCP echo',
  socketeer: 'socketeer',
  ws: 'ws + bufferutil',
  uws: 'uWebSockets.js',
  bun: 'Bun',
};

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

function verdict(scenario, value, ratio) {
  const target = scenario.target;
  if (!target) return '';
  if (target.bytes !== undefined) return `${target.text}: ${value <= target.bytes ? 'met' : 'not met'}`;
  if (ratio == null) return `${target.text}: (ws not in this run)`;
  const met = scenario.lowerIsBetter ? ratio <= target.ratio : ratio >= target.ratio;
  return `${target.text}: ${met ? 'met' : 'not met'}`;
}

function rows(report, scenarioDefs) {
  const out = [];
  for (const entry of report.results) {
    const def = scenarioDefs.find((s) => s.id === entry.id) ?? {};
    for (const [server, s] of Object.entries(entry.servers)) {
      out.push({
        scenario: `${entry.id}: ${entry.title}`,
        server: NAMES[server] ?? server,
        value: `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)}) ${entry.unit}`,
        ratio: s.ratioToWs == null ? '' : `${s.ratioToWs.toFixed(2)}x`,
        latency: s.latencyMs ? `${s.latencyMs.p50.toFixed(2)} / ${s.latencyMs.p99.toFixed(2)}` : '',
        target: server === 'socketeer' ? verdict(def, s.median, s.ratioToWs) : '',
      });
    }
  }
  return out;
}

let defs = [];
export function useScenarios(list) {
  defs = list;
}

export function renderTable(report) {
  const table = rows(report, defs);
  const headers = {
    scenario: 'scenario',
    server: 'server',
    value: 'median (min-max)',
    ratio: 'vs ws',
    latency: 'p50 / p99 ms',
    target: 'target',
  };
  const widths = Object.fromEntries(
    Object.keys(headers).map((k) => [k, Math.max(headers[k].length, ...table.map((r) => r[k].length))]),
  );
  const line = (r) =>
    `${Object.keys(headers)
      .map((k) => r[k].padEnd(widths[k]))
      .join('  ')}\n`;
  let out = `\n${line(headers)}`;
  let last = '';
  for (const r of table) {
    out += line(r.scenario === last ? { ...r, scenario: '' } : r);
    last = r.scenario;
  }
  return out;
}

export function renderMarkdown(report) {
  let out = `Machine: ${report.machine}. Node ${report.node}. ${report.date.slice(0, 10)}. `;
  out += `Median of ${report.runs} runs (min-max); echo scenarios measure ${report.seconds} s after 1 s of warm-up.\n\n`;
  out +=
    '| scenario | server | median (min-max) | vs ws | p50 / p99 ms | target |\n|---|---|---|---|---|---|\n';
  for (const r of rows(report, defs)) {
    out += `| ${r.scenario} | ${r.server} | ${r.value} | ${r.ratio} | ${r.latency} | ${r.target} |\n`;
  }
  return out;
}
