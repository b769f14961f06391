import type { InjectionKey, Ref } from 'vue'

// formNameKey gives field widgets the name of the form they are in, for
// what they ask the server about their field (an address's levels).
export const formNameKey: InjectionKey<Ref<string>> = Symbol('formName')
