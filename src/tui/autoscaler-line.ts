// The autoscaler's line in the live view, worded from the decision's numbers so that what it
// does and why comes first and the line fits: the policy's own text ("avg in-flight 3.1 /
// target 1 → 4; clamped to …; held by upscale stabilization (less than 1m since start)") puts
// the reason last, where 80 or 120 columns cut it.
import type { AutoscalerDecision, DecisionFacts } from '../model/status.js';
import { clock, replicaCount } from './format.js';

const round = (n: number): string => String(Math.round(n * 100) / 100);

type Decided = Extract<DecisionFacts, { kind: 'decided' }>;

/** What it asks for: "2 replicas", "1 → 2 replicas", with what the load wants when that differs. */
function outcome(f: Decided, withLimit: boolean): string {
  const count = f.to === f.from ? replicaCount(f.to) : `${f.from} → ${replicaCount(f.to)}`;
  const limit = withLimit && f.limit ? ` (${f.limit})` : '';
  return f.wanted === f.to ? `${count}${limit}` : `${count}, load wants ${f.wanted}${limit}`;
}

/** Why it holds back, from the longest wording to the shortest. */
function whyHeld(f: Decided): string[] {
  if (!f.held) return [];
  const { direction, sinceStart } = f.held;
  const { period, from } = f.stabilization[direction];
  const setting = `${direction}scale_stabilization_period`;
  const step = direction === 'up' ? 'scale-up' : 'scale-down';
  // Past the first period: up follows the lowest recommendation of the period, down the highest.
  const what = sinceStart ? `no ${step} before ${clock(from)}` : direction === 'up' ? `${step} after ${period} of this load` : `${step} after ${period} of lower load`;
  return [`${what} (${setting}${sinceStart ? ` ${period}` : ''})`, `${what} (stabilization)`, what];
}

/** Every combination of the optional parts, most telling first: the reason's wording, then the bound, the clock, the numbers. */
function combinations(f: Decided, at: string, now: number): string[] {
  const reasons = f.held ? whyHeld(f) : [undefined];
  const numbers = `in-flight ${round(f.avgInFlight)}, target ${round(f.target)} each`;
  // Nothing held, but the first period has not passed: said where there is room.
  const early = !f.held && now < Date.parse(f.stabilization.up.from) ? `; no scale-up before ${clock(f.stabilization.up.from)} (stabilization)` : undefined;
  const flags = (present: boolean) => (present ? [true, false] : [false]);
  const lines: string[] = [];
  for (const reason of reasons) {
    for (const limit of flags(f.limit !== undefined)) {
      for (const withClock of [true, false]) {
        for (const withNumbers of [true, false]) {
          for (const withEarly of flags(early !== undefined && withNumbers)) {
            const head = withClock ? `autoscaler ${at}  ` : 'autoscaler  ';
            lines.push(`${head}${outcome(f, limit)}${reason ? `; ${reason}` : ''}${withNumbers ? `  ${numbers}` : ''}${withEarly ? early : ''}`);
          }
        }
      }
    }
  }
  return lines;
}

/**
 * The line, at most `width` columns: the most telling wording that fits (combinations), cut
 * only when even the shortest does not.
 */
export function autoscalerLine(decision: AutoscalerDecision, width: number, now = Date.now()): string {
  const f = decision.facts;
  const label = 'autoscaler';
  const candidates: string[] = [];
  if (f?.kind === 'decided') {
    candidates.push(...combinations(f, clock(decision.at), now));
  } else if (f?.kind === 'waiting') {
    const { period, from } = f.stabilization.up;
    const until = `no scale-up before ${clock(from)}`;
    candidates.push(
      `${label}  no decision yet (next at ${clock(f.nextAt)}); ${until} (upscale_stabilization_period ${period})`,
      `${label}  no decision yet; ${until} (upscale_stabilization_period ${period})`,
      `${label}  no decision yet; ${until} (stabilization)`,
      `${label}  no decision yet; ${until}`,
    );
  } else {
    // Only the text was recorded (an older writer): as it is.
    candidates.push(`${label} ${clock(decision.at)} ${decision.decision}`);
  }
  const fits = candidates.find((c) => [...c].length <= width);
  if (fits) return fits;
  const shortest = candidates.at(-1)!;
  return `${[...shortest].slice(0, Math.max(0, width - 1)).join('')}…`;
}
