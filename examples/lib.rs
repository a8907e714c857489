//! Runnable examples of the UIP integrator kit: see the `[[example]]` targets of this package.
