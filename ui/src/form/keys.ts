import type { InjectionKey, Ref } from 'vue'

// formNameKey gives field widgets the name of the form they are in, for
// what they ask the server about their field (an address's levels).
export const formNameKey: InjectionKey<Ref<string>> = Symbol('formName')

// Suggestion is a value a picker offers before anything is typed, with
// why (a unit the responsibility list names for the ticket).
export interface Suggestion {
  value: string
  label: string
  reason: string
}

// unitSuggestionsKey gives unit pickers the suggestions for the ticket
// the form acts on (suggestUnits); a form outside a ticket has none. Any
// unit field of any action's form gets them, whatever the action is.
export const unitSuggestionsKey: InjectionKey<() => Promise<Suggestion[]>> = Symbol('unitSuggestions')
