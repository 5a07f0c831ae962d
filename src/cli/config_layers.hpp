// Settings come from flags, then WEFT_* environment variables, then a TOML file (--config), in
// that order of precedence. CLI11 handles the first two (envname on each option); this fills
// options still unset from the TOML file, by their long name ("data-dir" or "data_dir").
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace weft::cli {

// Every long option of `app` gets the environment variable WEFT_<NAME> (dashes as underscores).
void add_env_names(CLI::App& app);
// Fills unset options of `app` from the TOML file; throws std::runtime_error with the file's
// error position on a syntax error or an unknown key.
void apply_toml(CLI::App& app, const std::string& path);

}  // namespace weft::cli
