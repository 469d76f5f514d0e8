/**
 * Which container labels become tags of the docker_container_* points, as Telegraf's docker input decides it
 * (`docker_label_include` / `docker_label_exclude`): a label is kept when it matches an include glob (or no include
 * glob is given) and no exclude glob. Globs know `*` (any run of characters) and `?` (one character).
 */
export type LabelFilter = (label: string) => boolean;

function globRegExp(glob: string): RegExp {
  let re = '^';
  for (const c of glob) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's');
}

export function labelFilter(include: readonly string[], exclude: readonly string[]): LabelFilter {
  const inc = include.map(globRegExp);
  const exc = exclude.map(globRegExp);
  return (label) => (inc.length === 0 || inc.some((r) => r.test(label))) && !exc.some((r) => r.test(label));
}

/** The labels kept as tags; the tags already set (ours and Telegraf's) win over a label of the same name. */
export function labelTags(labels: Readonly<Record<string, string>>, keep: LabelFilter, tags: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (value !== '' && !(key in tags) && keep(key)) out[key] = value;
  }
  return { ...out, ...tags };
}
