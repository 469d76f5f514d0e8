/**
 * The one-off Elasticsearch commands by name, apart from their code (./es-commands.ts): `shipwatch all` and the
 * other programs list them in --help without loading the Elasticsearch client, which would delay the start banner.
 */
export const ES_COMMANDS = {
  'es-init': 'create the index templates (and ILM policy) up front: es-init [target ...]',
  'es-clean': 'delete the log and span indices older than the retention days, once',
} as const;
export type EsCommand = keyof typeof ES_COMMANDS;
