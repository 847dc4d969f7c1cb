// The one device the cloud unit tests speak for: the same ids on every platform, so a topic in
// one test file reads the same as in the next.
#pragma once

#include "cloud/cloud_config.hpp"

namespace cellgate::testing {

inline cloud::CloudConfig test_device(cloud::Platform p) {
    cloud::CloudConfig c;
    c.name = "gw";
    c.platform = p;
    c.product_key = "a1B2c3D4e5F";
    c.product_id = "238322";
    c.device_name = "gw-001";
    c.device_id = "503902911";
    c.client_id = "lab-1";
    return c;
}

}  // namespace cellgate::testing
