"""Audio in, vector out: PyAV decode of the analysis windows, the DSP extractor and its scaler. No store, no HTTP."""
