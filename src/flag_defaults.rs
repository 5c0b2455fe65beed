//! An argument group's settings when no flag is given, read from its clap definition.

/// The settings of a flattened argument group (`LoadArgs`, `TuneArgs`, ...) when no flag is given:
/// the `Default` of every such group, so that its `#[arg(default_value...)]` attributes stay the
/// one place its defaults are written.
pub(crate) fn parse_defaults<T: clap::Args>() -> T {
    let command = T::augment_args(clap::Command::new("defaults").no_binary_name(true));
    let matches = command.get_matches_from(std::iter::empty::<&str>());
    T::from_arg_matches(&matches).expect("every flag of the group has a default")
}
