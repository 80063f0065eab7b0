// Its own module so that interpreters (src/verify/<target>.ts) can throw it without importing the verifier.
/** Thrown by an interpreter when the emitted text does not parse: always a bug of the emitter. */
export class InterpreterError extends Error {}
