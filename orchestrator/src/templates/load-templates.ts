/** Reads every *.yaml / *.yml in a directory as a task template and validates it. */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { templateKey, type TaskTemplate } from './types.ts'
import { TemplateError, validateTemplate } from './validate-template.ts'

/** The repository's fixtures/templates (in the image: /app/fixtures/templates). */
export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../../fixtures/templates/', import.meta.url))

export function loadTemplates(dir: string = DEFAULT_TEMPLATES_DIR, knownCallables?: ReadonlySet<string>): TaskTemplate[] {
  let files: string[]
  try {
    files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()
  } catch (err) {
    throw new TemplateError(`cannot read the templates directory ${dir}: ${(err as Error).message} (set TASKER_TEMPLATES_DIR to a directory of *.yaml task templates)`)
  }
  if (files.length === 0) throw new TemplateError(`${dir} has no *.yaml task templates`)
  const templates = files.map((f) => loadTemplateFile(path.join(dir, f), knownCallables))
  const byKey = new Map<string, string>()
  for (const t of templates) {
    const key = templateKey(t.namespace, t.name, t.version)
    const other = byKey.get(key)
    if (other) throw new TemplateError(`${t.source}: defines ${key}, already defined by ${other}`)
    byKey.set(key, t.source)
  }
  return templates
}

export function loadTemplateFile(file: string, knownCallables?: ReadonlySet<string>): TaskTemplate {
  const source = path.basename(file)
  let doc: unknown
  try {
    doc = parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new TemplateError(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`)
  }
  return validateTemplate(doc, source, knownCallables)
}

/** Lookup by (namespace, name, version). */
export class TemplateRegistry {
  readonly templates: readonly TaskTemplate[]
  private readonly byKey: Map<string, TaskTemplate>

  constructor(templates: TaskTemplate[]) {
    this.templates = templates
    this.byKey = new Map(templates.map((t) => [templateKey(t.namespace, t.name, t.version), t]))
  }

  get(namespace: string, name: string, version: string): TaskTemplate | undefined {
    return this.byKey.get(templateKey(namespace, name, version))
  }

  namespaces(): string[] {
    return [...new Set(this.templates.map((t) => t.namespace))].sort()
  }
}
