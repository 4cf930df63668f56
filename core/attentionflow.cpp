#include "attentionflow.h"

#include "aggregation.h"

#include <algorithm>
#include <limits>

namespace studio {

namespace {

// Residual capacities below this count as none: capacities are attention weights (≤ 1) and
// rounding leaves crumbs of about 1e-16 on saturated edges.
constexpr double kEmpty = 1e-12;

// A directed graph for Dinic's maximum flow. Each edge is stored with its reverse (edge e and
// e ^ 1), and the residual capacity of both is kept; the original capacities are kept to reset.
class FlowNetwork {
public:
    explicit FlowNetwork(int nodes) : m_first(size_t(nodes), -1), m_level(size_t(nodes)), m_next(size_t(nodes)) {}

    void addEdge(int from, int to, double capacity)
    {
        append(from, to, capacity);
        append(to, from, 0.0);
    }
    // The first edgeCount edges back to their capacities (edges are added layer by layer, so a flow
    // that can only reach the lower layers resets just theirs).
    void reset(int edgeCount)
    {
        std::copy_n(m_capacity.begin(), edgeCount, m_residual.begin());
    }
    int edgeCount() const { return int(m_to.size()); }

    double maximumFlow(int source, int sink)
    {
        if (source == sink)
            return 0;
        double total = 0;
        while (buildLevels(source, sink)) {
            std::copy(m_first.begin(), m_first.end(), m_next.begin());
            while (const double pushed = push(source, sink, std::numeric_limits<double>::infinity()))
                total += pushed;
        }
        return total;
    }

private:
    void append(int from, int to, double capacity)
    {
        m_to.push_back(to);
        m_capacity.push_back(capacity);
        m_residual.push_back(capacity);
        m_link.push_back(m_first[size_t(from)]);
        m_first[size_t(from)] = int(m_to.size()) - 1;
    }

    // Breadth-first levels over edges with capacity left; whether the sink is reached.
    bool buildLevels(int source, int sink)
    {
        std::fill(m_level.begin(), m_level.end(), -1);
        m_queue.clear();
        m_queue.push_back(source);
        m_level[size_t(source)] = 0;
        for (size_t head = 0; head < m_queue.size(); ++head) {
            const int u = m_queue[head];
            for (int e = m_first[size_t(u)]; e >= 0; e = m_link[size_t(e)]) {
                const int v = m_to[size_t(e)];
                if (m_level[size_t(v)] < 0 && m_residual[size_t(e)] > kEmpty) {
                    m_level[size_t(v)] = m_level[size_t(u)] + 1;
                    m_queue.push_back(v);
                }
            }
        }
        return m_level[size_t(sink)] >= 0;
    }

    // One augmenting path along increasing levels (depth-first, each edge tried once per phase).
    double push(int u, int sink, double limit)
    {
        if (u == sink)
            return limit;
        for (int &e = m_next[size_t(u)]; e >= 0; e = m_link[size_t(e)]) {
            const int v = m_to[size_t(e)];
            if (m_level[size_t(v)] != m_level[size_t(u)] + 1 || m_residual[size_t(e)] <= kEmpty)
                continue;
            if (const double pushed = push(v, sink, std::min(limit, m_residual[size_t(e)])); pushed > 0) {
                m_residual[size_t(e)] -= pushed;
                m_residual[size_t(e ^ 1)] += pushed;
                return pushed;
            }
        }
        return 0;
    }

    std::vector<int> m_first; // per node: its last edge (a linked list through m_link)
    std::vector<int> m_to, m_link;
    std::vector<double> m_capacity, m_residual;
    std::vector<int> m_level, m_next, m_queue;
};

} // namespace

double attentionFlowCost(int layers, int tokens)
{
    // Σ over layers l (1-based) of T² flows, each over the l·T² edges below: T⁴ · L(L+1)/2.
    const double t2 = double(tokens) * tokens;
    return t2 * t2 * double(layers) * (layers + 1) / 2;
}

std::optional<std::vector<Matrix>> attentionFlow(const std::vector<std::vector<Matrix>> &layers, const FlowOptions &options)
{
    std::vector<Eigen::MatrixXd> mixed;
    for (const std::vector<Matrix> &heads : layers)
        mixed.push_back(residualMixed(heads));
    return attentionFlowFromMixed(mixed, options);
}

std::optional<std::vector<Matrix>> attentionFlowFromMixed(const std::vector<Eigen::MatrixXd> &mixedLayers, const FlowOptions &options)
{
    std::vector<Matrix> flows;
    if (mixedLayers.empty() || mixedLayers.front().rows() == 0)
        return flows;
    const int tokens = int(mixedLayers.front().rows());
    const int layerCount = int(mixedLayers.size());
    // Node (m, i) = m·T + i, m = 0 the inputs. Edges are added from the lowest layer up, so the
    // edges below layer m are the first ones (each with its reverse).
    FlowNetwork network((layerCount + 1) * tokens);
    std::vector<int> edgesThrough(size_t(layerCount), 0); // edges of layers 0..l
    for (int l = 0; l < layerCount; ++l) {
        const Eigen::MatrixXd &mixed = mixedLayers[size_t(l)];
        for (int i = 0; i < tokens; ++i)
            for (int j = 0; j < tokens; ++j)
                if (mixed(i, j) > 0)
                    network.addEdge((l + 1) * tokens + i, l * tokens + j, mixed(i, j));
        edgesThrough[size_t(l)] = network.edgeCount();
    }
    const int total = layerCount * tokens * tokens;
    int done = 0;
    for (int l = 0; l < layerCount; ++l) {
        Matrix flow(tokens, tokens); // (T, T): query above layer l, input token
        for (int i = 0; i < tokens; ++i) {
            if (options.cancel && options.cancel->load(std::memory_order_relaxed))
                return std::nullopt;
            double sum = 0;
            for (int j = 0; j < tokens; ++j) {
                network.reset(edgesThrough[size_t(l)]);
                const double value = network.maximumFlow((l + 1) * tokens + i, j);
                flow(i, j) = float(value);
                sum += value;
            }
            if (sum > 0)
                flow.row(i) /= float(sum);
            done += tokens;
            if (options.progress)
                options.progress(done, total);
        }
        flows.push_back(std::move(flow));
    }
    return flows;
}

double maximumFlow(const Eigen::MatrixXd &capacity, int source, int sink)
{
    const int n = int(capacity.rows());
    if (capacity.cols() != n || source < 0 || sink < 0 || source >= n || sink >= n)
        return 0;
    FlowNetwork network(n);
    for (int u = 0; u < n; ++u)
        for (int v = 0; v < n; ++v)
            if (capacity(u, v) > 0)
                network.addEdge(u, v, capacity(u, v));
    return network.maximumFlow(source, sink);
}

} // namespace studio
