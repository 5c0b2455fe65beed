//! `lab tutorial`: the whole tutorial in one command.
