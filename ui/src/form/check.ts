// The live check of a form as the user types: the server's checkForm (the
// same check every write goes through) answers which fields are wrong and
// which the form hides for what is entered, so no rule of a form is
// evaluated a second time in the browser.
import { getCurrentScope, onScopeDispose, reactive, unref, watch, type Ref } from 'vue'
import { GqlError, request, type FieldProblem } from '../graphql/client'
import { CHECK_FORM } from '../graphql/forms'

// baseField is the form field a problem's path names: address for
// input.address.street, attachments for attachments[2].
export function baseField(path: string): string {
  const p = path.startsWith('input.') ? path.slice('input.'.length) : path
  const i = p.search(/[.[]/)
  return i >= 0 ? p.slice(0, i) : p
}

// fieldErrors maps problems to the fields they name, one message per
// field (several problems of one field are joined).
export function fieldErrors(problems: readonly Pick<FieldProblem, 'field' | 'message'>[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of problems) {
    const f = baseField(p.field)
    if (!f) continue
    out[f] = out[f] && out[f] !== p.message ? out[f] + '；' + p.message : p.message
  }
  return out
}

// debounceMs is how long typing pauses before a check goes out.
export const debounceMs = 300

export interface FormCheckState {
  errors: Record<string, string>
  hidden: string[]
  valid: boolean
  checking: boolean
  // values are the server's normalised values (defaults, computed fields)
  // of the last valid check.
  values: Record<string, unknown>
  // failure is why the last check got no answer (network, server); the
  // previous answer stays meanwhile.
  failure: string
  check: () => Promise<void>
}

// useFormCheck checks values against the form whenever they change (after
// debounceMs of quiet) or when check() is called. partial skips required
// fields (a form being filled in, or a draft). Only the newest answer
// counts: a slow answer to older values is dropped.
export function useFormCheck(
  formName: Ref<string> | string,
  values: Ref<Record<string, unknown>>,
  opts: { partial?: boolean | Ref<boolean> } = {},
): FormCheckState {
  let seq = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const state: FormCheckState = reactive({
    errors: {},
    hidden: [],
    valid: false,
    checking: false,
    values: {},
    failure: '',
    check: async () => {
      clearTimeout(timer)
      const name = unref(formName)
      if (!name) return
      const mine = ++seq
      state.checking = true
      try {
        const r = (await request(CHECK_FORM, { name, input: clean(values.value), partial: !!unref(opts.partial) })).checkForm
        if (mine !== seq) return
        state.errors = fieldErrors(r.errors)
        state.hidden = r.hidden
        state.valid = r.valid
        if (r.valid && r.values) state.values = r.values
        state.failure = ''
      } catch (e) {
        if (mine !== seq) return
        state.failure = e instanceof GqlError ? e.message : String(e)
      } finally {
        if (mine === seq) state.checking = false
      }
    },
  }) as FormCheckState

  const schedule = () => {
    clearTimeout(timer)
    timer = setTimeout(() => void state.check(), debounceMs)
  }
  watch(values, schedule, { deep: true })
  if (typeof formName !== 'string') watch(formName, () => void state.check())
  if (opts.partial && typeof opts.partial !== 'boolean') watch(opts.partial, schedule)
  // A form closed (its dialog, its page) within the debounce asks
  // nothing more, and an answer still on its way is dropped.
  if (getCurrentScope()) {
    onScopeDispose(() => {
      clearTimeout(timer)
      seq++
    })
  }
  return state
}

// clean drops what a user has not entered (empty text, empty lists), so
// a check and a write see the same thing.
export function clean(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || x === null || x === '') continue
    if (Array.isArray(x) && x.length === 0) continue
    out[k] = x
  }
  return out
}
