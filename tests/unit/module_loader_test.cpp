// Modules loaded on first use (util/module_loader): a missing module or entry
// is one clear line, and the test binary (in build/tests) finds the modules
// of its build directory.
#include "util/module_loader.hpp"

#include <gtest/gtest.h>

#include "distribution/http_transfer.hpp"
#include "runtime/metrics_listener.hpp"
#include "util/error.hpp"

namespace ecli {
namespace {

std::string load_error(const std::string& file, const char* entry, const std::string& purpose) {
  try {
    load_module_entry(file, entry, purpose);
  } catch (const Error& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(ModuleLoader, MissingModuleIsOneLineNamingItAndWhatNeedsIt) {
  std::string error = load_error("libecli_no_such_module.so", "entry", "testing");
  EXPECT_TRUE(error.starts_with("cannot load libecli_no_such_module.so (needed for testing): /")) << error;
  EXPECT_NE(error.find("/libecli_no_such_module.so: cannot open shared object file: No such file or directory"),
            std::string::npos)
      << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(ModuleLoader, ModuleWithoutTheEntryIsNamed) {
  std::string error = load_error(distribution::kHttpModule, "ecli_no_such_entry", "testing");
  EXPECT_TRUE(error.starts_with("cannot load libecli_http.so (needed for testing): /")) << error;
  EXPECT_TRUE(error.ends_with("/libecli_http.so has no ecli_no_such_entry (a module of another ecli build?)"))
      << error;
}

TEST(ModuleLoader, FindsTheHttpAndMetricsModulesOfThisBuild) {
  EXPECT_NE(load_module_function<distribution::HttpTransferFn>(distribution::kHttpModule,
                                                               distribution::kHttpTransferEntry, "testing"),
            nullptr);
  auto make_listener =
      load_module_function<runtime::MetricsListenerFn>(runtime::kMetricsModule, runtime::kMetricsListenerEntry, "testing");
  ASSERT_NE(make_listener, nullptr);
  std::unique_ptr<runtime::MetricsListener> listener(
      make_listener([](const std::string&) { return runtime::MetricsAnswer{"", "text/plain"}; }));
  ASSERT_NE(listener, nullptr);
  EXPECT_FALSE(listener->is_running());
}

}  // namespace
}  // namespace ecli
