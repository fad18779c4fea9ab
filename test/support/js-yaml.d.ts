// The one function of js-yaml 4 (a dependency of @pulumi/pulumi, declared in package.json) that
// the tests call; the package ships no types and @types/js-yaml is not installed.
declare module "js-yaml" {
  /** Parses one YAML document; throws a YAMLException naming the line on a syntax error. */
  export function load(text: string, options?: { filename?: string }): unknown;
}
