#pragma once

// How long the GUI thread stands still: a 1 ms timer records the longest gap between its ticks.

#include <QElapsedTimer>
#include <QTimer>

namespace studio::bench {

class StallMeter {
public:
    StallMeter()
    {
        m_ticker.setInterval(1);
        QObject::connect(&m_ticker, &QTimer::timeout, [this] { m_longest = std::max(m_longest, m_sinceTick.restart()); });
    }
    void start()
    {
        m_longest = 0;
        m_sinceTick.start();
        m_ticker.start();
    }
    qint64 longestMs() const { return m_longest; }

private:
    QTimer m_ticker;
    QElapsedTimer m_sinceTick;
    qint64 m_longest = 0;
};

} // namespace studio::bench
