// Renders shapes read from stdin with plain Java2D, set up the way QuPath's LabeledImageServer
// sets up each tile (an independent oracle for h2g's rasterizer; JDK only, no QuPath code).
//
// Input (whitespace separated, one object per line, drawn in order):
//   size W H D                  output W x H pixels at downsample D (full-resolution = round(W*D))
//   tile T                      tile side in output pixels (default 512)
//   thick T                     LabeledImageServer's lineThickness, a float (default 1): the
//                               stroke is BasicStroke((float)(T * D))
//   rect L x y w h              Rectangle2D.Double, filled
//   ellipse L x y w h           Ellipse2D.Double, filled
//   path L nonzero|evenodd float|double K n1 x y ... nK x y ...   K closed subpaths, filled
//   line L x1 y1 x2 y2          Line2D.Double, drawn
//   polyline L n x y ...        open Path2D.Float, drawn
//   polylines L K n1 x y ... nK x y ...   K open subpaths of one Path2D.Float, drawn
//   points L n x y ...          pixels set at (int)((x - tileX) / D), as QuPath does
// An object is drawn in a tile only when its bounds meet the tile's full-resolution request
// (closed intervals), as QuPath's hierarchy query selects the objects of a tile.
//   end                         renders the scene so far and starts a new one
// Output: a binary PGM (P5) of the labels per scene on stdout.
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;

public class Render {
    record Obj(String kind, int label, Shape shape, double[] pts) {}

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        var os = new BufferedOutputStream(System.out);
        int w = 0, h = 0, tile = 512;
        float thick = 1.0f;
        double d = 1;
        List<Obj> objs = new ArrayList<>();
        String line;
        while ((line = in.readLine()) != null) {
            String[] t = line.trim().split("\\s+");
            if (t.length == 0 || t[0].isEmpty()) continue;
            int[] i = {1};
            java.util.function.DoubleSupplier num = () -> Double.parseDouble(t[i[0]++]);
            switch (t[0]) {
                case "size" -> { w = (int) num.getAsDouble(); h = (int) num.getAsDouble(); d = num.getAsDouble(); }
                case "tile" -> tile = (int) num.getAsDouble();
                case "thick" -> thick = (float) num.getAsDouble();
                case "end" -> {
                    render(w, h, d, tile, thick, objs, os);
                    objs.clear();
                }
                case "rect", "ellipse" -> {
                    int l = (int) num.getAsDouble();
                    double x = num.getAsDouble(), y = num.getAsDouble(), rw = num.getAsDouble(), rh = num.getAsDouble();
                    Shape s = t[0].equals("rect") ? new Rectangle2D.Double(x, y, rw, rh) : new Ellipse2D.Double(x, y, rw, rh);
                    objs.add(new Obj("fill", l, s, null));
                }
                case "path" -> {
                    int l = (int) num.getAsDouble();
                    int rule = t[i[0]++].equals("evenodd") ? Path2D.WIND_EVEN_ODD : Path2D.WIND_NON_ZERO;
                    boolean f = t[i[0]++].equals("float");
                    Path2D p = f ? new Path2D.Float(rule) : new Path2D.Double(rule);
                    int k = (int) num.getAsDouble();
                    for (int r = 0; r < k; r++) {
                        int n = (int) num.getAsDouble();
                        for (int j = 0; j < n; j++) {
                            double x = num.getAsDouble(), y = num.getAsDouble();
                            if (j == 0) p.moveTo(x, y); else p.lineTo(x, y);
                        }
                        p.closePath();
                    }
                    objs.add(new Obj("fill", l, p, null));
                }
                case "line" -> {
                    int l = (int) num.getAsDouble();
                    objs.add(new Obj("draw", l, new Line2D.Double(num.getAsDouble(), num.getAsDouble(),
                            num.getAsDouble(), num.getAsDouble()), null));
                }
                case "polyline" -> {
                    int l = (int) num.getAsDouble();
                    Path2D p = new Path2D.Float();
                    int n = (int) num.getAsDouble();
                    for (int j = 0; j < n; j++) {
                        double x = num.getAsDouble(), y = num.getAsDouble();
                        if (j == 0) p.moveTo(x, y); else p.lineTo(x, y);
                    }
                    objs.add(new Obj("draw", l, p, null));
                }
                case "polylines" -> {
                    int l = (int) num.getAsDouble();
                    Path2D p = new Path2D.Float();
                    int k = (int) num.getAsDouble();
                    for (int r = 0; r < k; r++) {
                        int n = (int) num.getAsDouble();
                        for (int j = 0; j < n; j++) {
                            double x = num.getAsDouble(), y = num.getAsDouble();
                            if (j == 0) p.moveTo(x, y); else p.lineTo(x, y);
                        }
                    }
                    objs.add(new Obj("draw", l, p, null));
                }
                case "points" -> {
                    int l = (int) num.getAsDouble();
                    int n = (int) num.getAsDouble();
                    double[] p = new double[2 * n];
                    for (int j = 0; j < 2 * n; j++) p[j] = num.getAsDouble();
                    objs.add(new Obj("points", l, null, p));
                }
                default -> throw new IllegalArgumentException("unknown line: " + line);
            }
        }
        os.flush();
    }

    static double[] bounds(Obj o) {
        if (o.shape != null) {
            var r = o.shape.getBounds2D();
            return new double[] {r.getMinX(), r.getMinY(), r.getMaxX(), r.getMaxY()};
        }
        double[] b = {Double.MAX_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE, -Double.MAX_VALUE};
        for (int j = 0; j < o.pts.length; j += 2) {
            b[0] = Math.min(b[0], o.pts[j]);
            b[1] = Math.min(b[1], o.pts[j + 1]);
            b[2] = Math.max(b[2], o.pts[j]);
            b[3] = Math.max(b[3], o.pts[j + 1]);
        }
        return b;
    }

    static void render(int w, int h, double d, int tile, float thick, List<Obj> objs, BufferedOutputStream os) throws Exception {
        byte[] out = new byte[w * h];
        // the tile grid of the level, and each tile's full-resolution request, as QuPath computes them
        for (int ty = 0; ty < h; ty += tile) {
            int th = Math.min(tile, h - ty);
            for (int tx = 0; tx < w; tx += tile) {
                int tw = Math.min(tile, w - tx);
                double x1 = tx * d, y1 = ty * d;
                int rx = (int) Math.round(x1), ry = (int) Math.round(y1);
                int rw = (int) Math.round((tx + tw) * d - rx), rh = (int) Math.round((ty + th) * d - ry);
                BufferedImage img = new BufferedImage(tw, th, BufferedImage.TYPE_BYTE_GRAY);
                var raster = img.getRaster();
                Graphics2D g = img.createGraphics();
                g.setColor(new Color(0, 0, 0));
                g.fillRect(0, 0, tw, th);
                g.setClip(0, 0, tw, th);
                double scale = 1.0 / d;
                g.scale(scale, scale);
                g.translate(-rx, -ry);
                g.setStroke(new BasicStroke((float) (thick * d)));
                for (Obj o : objs) {
                    double[] b = bounds(o);
                    if (b[0] > rx + rw || b[2] < rx || b[1] > ry + rh || b[3] < ry) continue;
                    g.setColor(new Color(o.label, o.label, o.label));
                    switch (o.kind) {
                        case "fill" -> g.fill(o.shape);
                        case "draw" -> g.draw(o.shape);
                        default -> {
                            for (int j = 0; j < o.pts.length; j += 2) {
                                int x = (int) ((o.pts[j] - rx) / d);
                                int y = (int) ((o.pts[j + 1] - ry) / d);
                                if (x >= 0 && x < tw && y >= 0 && y < th) raster.setSample(x, y, 0, o.label);
                            }
                        }
                    }
                }
                g.dispose();
                for (int y = 0; y < th; y++)
                    for (int x = 0; x < tw; x++)
                        out[(ty + y) * w + tx + x] = (byte) raster.getSample(x, y, 0);
            }
        }
        os.write(("P5\n" + w + " " + h + "\n255\n").getBytes());
        os.write(out);
    }
}
