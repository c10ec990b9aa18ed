package modsym

// MaxThunks exports the decoder's bound for the external tests.
const MaxThunks = maxThunks
