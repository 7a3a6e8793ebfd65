// What a new cortex.yaml changes, as a plan the session carries out: pure, so the rules (which
// apis get a new edit loop, which are removed, which reload for a new config) are a table of
// cases rather than a walk through the session's state.
import type { ApiSpec, Spec } from '../spec/index.js';

export interface SpecChanges {
  /** New apis, and apis whose predictor moved: they need a new edit loop (a first build). */
  build: ApiSpec[];
  /** Apis no longer in the spec. */
  removed: string[];
  /** Apis that stay, with the same predictor file, whose predictor.config changed: a reload. */
  reconfigured: string[];
}

export function specChanges(running: ReadonlyMap<string, Pick<ApiSpec, 'predictor'>>, spec: Pick<Spec, 'apis'>): SpecChanges {
  const names = new Set(spec.apis.map((a) => a.name));
  const build: ApiSpec[] = [];
  const reconfigured: string[] = [];
  for (const api of spec.apis) {
    const old = running.get(api.name);
    if (!old || old.predictor.path !== api.predictor.path) build.push(api);
    else if (JSON.stringify(old.predictor.config) !== JSON.stringify(api.predictor.config)) reconfigured.push(api.name);
  }
  return { build, removed: [...running.keys()].filter((name) => !names.has(name)), reconfigured };
}
