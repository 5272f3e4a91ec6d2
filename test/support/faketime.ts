/**
 * When the whole suite runs under faketime (scripts/test-at-hours.sh shifts every process by
 * the same offset), a child process the test starts with a clean environment must live on the
 * same shifted clock as the test that talks to it: pass the preload on.
 */
export function inheritedFaketime(): Record<string, string> {
  const { FAKETIME: spec, LD_PRELOAD: preload } = process.env;
  return spec && preload?.includes('faketime') ? { FAKETIME: spec, LD_PRELOAD: preload } : {};
}
