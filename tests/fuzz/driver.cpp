// Stand-in for libFuzzer under GCC: replays every file in the corpus directory, then feeds
// `iterations` deterministic mutations of them (byte flips, truncations, splices, inserted CR/LF
// and quotes) so the sanitizers see far more than the happy path on every CI run.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
    std::vector<std::string> corpus;
    if (argc > 1 && std::filesystem::is_directory(argv[1])) {
        for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
            std::ifstream in(entry.path(), std::ios::binary);
            corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
    }
    if (corpus.empty()) corpus.emplace_back("AT\r\nOK\r\n");
    const long iterations = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 10000;

    for (const auto& c : corpus) LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(c.data()), c.size());

    std::mt19937 rng(0x5eed);
    static const char kSpecial[] = "\r\n\",:+^>\0\xff ";
    for (long i = 0; i < iterations; ++i) {
        std::string s = corpus[rng() % corpus.size()];
        const int edits = 1 + static_cast<int>(rng() % 8);
        for (int e = 0; e < edits; ++e) {
            const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
            switch (rng() % 5) {
                case 0: if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng()); break;
                case 1: s.insert(pos, 1, kSpecial[rng() % (sizeof kSpecial - 1)]); break;
                case 2: s.resize(pos); break;
                case 3: { const auto& o = corpus[rng() % corpus.size()]; s.insert(pos, o.substr(0, rng() % (o.size() + 1))); break; }
                case 4: if (pos < s.size()) s.erase(pos, 1 + rng() % 4); break;
            }
        }
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    }
    std::printf("fuzz driver: %zu corpus inputs, %ld mutations, no crash\n", corpus.size(), iterations);
    return 0;
}
