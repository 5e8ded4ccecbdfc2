// Generates a tiny customer base through the installed library and reads it back.
#include <cstdio>
#include <filesystem>

#include "segstream/host/generate.hpp"
#include "segstream/io/events.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  segstream::host::EventGeneratorConfig config;
  config.customers = 50;
  const auto report = segstream::host::generate_events(config, argv[1], true);
  segstream::io::EventFileReader reader(argv[1]);
  std::printf("consumer: %llu events\n", static_cast<unsigned long long>(reader.rows()));
  return reader.rows() == report.events && reader.rows() > 0 ? 0 : 1;
}
