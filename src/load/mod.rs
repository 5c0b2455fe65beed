//! Load testing (see DESIGN §8).
