/** The tags an agent announces: the configured ones plus `os:` and `arch:`, each once, in a stable order. */
export function agentTags(
  configured: readonly string[],
  platform: string = process.platform,
  arch: string = process.arch,
): string[] {
  return [...new Set([...configured, `os:${platform}`, `arch:${arch}`])];
}

/** `--tags a,b`: commas separate, blanks around a tag are dropped; the schema checks each tag. */
export function splitTags(value: string): string[] {
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
