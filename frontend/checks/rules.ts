/**
 * The build checks BuildKit's Dockerfile frontend runs (its linter rule set): each rule's name,
 * description, documentation URL and message, word for word, so that output matches `docker build`.
 * Experimental rules run only when `# check=experimental=<rule>|all` asks for them.
 */

export interface CheckRule {
  readonly name: string;
  readonly description: string;
  /** The documentation page; empty for the one rule BuildKit gives none (InvalidBaseImagePlatform). */
  readonly url: string;
  readonly experimental?: boolean;
}

const DOCS = 'https://docs.docker.com/go/dockerfile/rule/';

function rule(name: string, slug: string, description: string, experimental = false): CheckRule {
  return {
    name,
    description,
    url: slug === '' ? '' : `${DOCS}${slug}/`,
    ...(experimental ? { experimental } : {}),
  };
}

export const RULES = {
  StageNameCasing: rule('StageNameCasing', 'stage-name-casing', 'Stage names should be lowercase'),
  FromAsCasing: rule(
    'FromAsCasing',
    'from-as-casing',
    "The 'as' keyword should match the case of the 'from' keyword",
  ),
  NoEmptyContinuation: rule(
    'NoEmptyContinuation',
    'no-empty-continuation',
    'Empty continuation lines will become errors in a future release',
  ),
  ConsistentInstructionCasing: rule(
    'ConsistentInstructionCasing',
    'consistent-instruction-casing',
    'All commands within the Dockerfile should use the same casing (either upper or lower)',
  ),
  DuplicateStageName: rule('DuplicateStageName', 'duplicate-stage-name', 'Stage names should be unique'),
  ReservedStageName: rule(
    'ReservedStageName',
    'reserved-stage-name',
    'Reserved words should not be used as stage names',
  ),
  JSONArgsRecommended: rule(
    'JSONArgsRecommended',
    'json-args-recommended',
    'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
  ),
  MaintainerDeprecated: rule(
    'MaintainerDeprecated',
    'maintainer-deprecated',
    'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
  ),
  UndefinedArgInFrom: rule(
    'UndefinedArgInFrom',
    'undefined-arg-in-from',
    'FROM command must use declared ARGs',
  ),
  WorkdirRelativePath: rule(
    'WorkdirRelativePath',
    'workdir-relative-path',
    'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
  ),
  UndefinedVar: rule('UndefinedVar', 'undefined-var', 'Variables should be defined before their use'),
  MultipleInstructionsDisallowed: rule(
    'MultipleInstructionsDisallowed',
    'multiple-instructions-disallowed',
    'Multiple instructions of the same type should not be used in the same stage',
  ),
  LegacyKeyValueFormat: rule(
    'LegacyKeyValueFormat',
    'legacy-key-value-format',
    'Legacy key/value format with whitespace separator should not be used',
  ),
  InvalidBaseImagePlatform: rule(
    'InvalidBaseImagePlatform',
    '',
    'Base image platform does not match expected target platform',
  ),
  RedundantTargetPlatform: rule(
    'RedundantTargetPlatform',
    'redundant-target-platform',
    'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
  ),
  SecretsUsedInArgOrEnv: rule(
    'SecretsUsedInArgOrEnv',
    'secrets-used-in-arg-or-env',
    'Sensitive data should not be used in the ARG or ENV commands',
  ),
  InvalidDefaultArgInFrom: rule(
    'InvalidDefaultArgInFrom',
    'invalid-default-arg-in-from',
    'Default value for global ARG results in an empty or invalid base image name',
  ),
  FromPlatformFlagConstDisallowed: rule(
    'FromPlatformFlagConstDisallowed',
    'from-platform-flag-const-disallowed',
    'FROM --platform flag should not use a constant value',
  ),
  CopyIgnoredFile: rule(
    'CopyIgnoredFile',
    'copy-ignored-file',
    'Attempting to Copy file that is excluded by .dockerignore',
  ),
  InvalidDefinitionDescription: rule(
    'InvalidDefinitionDescription',
    'invalid-definition-description',
    'Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.',
    true,
  ),
  ExposeProtoCasing: rule(
    'ExposeProtoCasing',
    'expose-proto-casing',
    'Protocol in EXPOSE instruction should be lowercase',
  ),
  ExposeInvalidFormat: rule(
    'ExposeInvalidFormat',
    'expose-invalid-format',
    'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release',
  ),
} as const satisfies Record<string, CheckRule>;

export type RuleName = keyof typeof RULES;

/** Go's `%q` of a string: JSON quoting is the same for the printable text Dockerfiles hold. */
function q(text: string): string {
  return JSON.stringify(text);
}

/** Each rule's message (BuildKit's `Format`), by rule. */
export const MESSAGES = {
  StageNameCasing: (name: string) => `Stage name '${name}' should be lowercase`,
  FromAsCasing: (from: string, as: string) => `'${as}' and '${from}' keywords' casing do not match`,
  NoEmptyContinuation: () => 'Empty continuation line',
  ConsistentInstructionCasing: (command: string, casing: string) =>
    `Command '${command}' should match the case of the command majority (${casing})`,
  DuplicateStageName: (name: string) => `Duplicate stage name ${q(name)}, stage names should be unique`,
  ReservedStageName: (name: string) => `Stage name should not use the same name as reserved stage ${q(name)}`,
  JSONArgsRecommended: (instruction: string) =>
    `JSON arguments recommended for ${instruction} to prevent unintended behavior related to OS signals`,
  MaintainerDeprecated: () => 'Maintainer instruction is deprecated in favor of using label',
  UndefinedArgInFrom: (arg: string, suggest: string) =>
    `FROM argument '${arg}' is not declared${suggest ? ` (did you mean ${suggest}?)` : ''}`,
  WorkdirRelativePath: (workdir: string) =>
    `Relative workdir ${q(workdir)} can have unexpected results if the base image changes`,
  UndefinedVar: (name: string, suggest: string) =>
    `Usage of undefined variable '$${name}'${suggest ? ` (did you mean $${suggest}?)` : ''}`,
  MultipleInstructionsDisallowed: (instruction: string) =>
    `Multiple ${instruction} instructions should not be used in the same stage because only the last one will be used`,
  LegacyKeyValueFormat: (name: string) =>
    `"${name} key=value" should be used instead of legacy "${name} key value" format`,
  InvalidBaseImagePlatform: (image: string, expected: string, actual: string) =>
    `Base image ${image} was pulled with platform ${q(actual)}, expected ${q(expected)} for current build`,
  RedundantTargetPlatform: (value: string) =>
    `Setting platform to predefined ${value} in FROM is redundant as this is the default behavior`,
  SecretsUsedInArgOrEnv: (instruction: string, key: string) =>
    `Do not use ARG or ENV instructions for sensitive data (${instruction} ${q(key)})`,
  InvalidDefaultArgInFrom: (baseName: string) =>
    `Default value for ARG ${baseName} results in empty or invalid base image name`,
  FromPlatformFlagConstDisallowed: (platform: string) =>
    `FROM --platform flag should not use constant value ${q(platform)}`,
  CopyIgnoredFile: (command: string, file: string) =>
    `Attempting to ${command} file ${q(file)} that is excluded by .dockerignore`,
  InvalidDefinitionDescription: (instruction: string, name: string) =>
    `Comment for ${instruction} should follow the format: \`# ${name} <description>\``,
  ExposeProtoCasing: (port: string) => `Defined protocol '${port}' in EXPOSE instruction should be lowercase`,
  ExposeInvalidFormat: (port: string) =>
    `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`,
} as const satisfies Record<RuleName, (...args: string[]) => string>;
